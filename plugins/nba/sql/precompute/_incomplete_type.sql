-- Spec §4, DNP vs data gap for an INCOMPLETE_DATA player (14-day window): fewer than 5 expected
-- games -> INSUFFICIENT_HISTORY; missing dates where the raw gamebook has him active -> DATA_GAP
-- (correctable); absent / dnp / inactive -> PLAYER_DNP (permanent); both -> MIXED.
         CASE
           WHEN expected_games < 5 THEN 'INSUFFICIENT_HISTORY'
           WHEN gap_games > 0 AND dnp_games > 0 THEN 'MIXED'
           WHEN gap_games > 0 THEN 'DATA_GAP'
           WHEN dnp_games > 0 THEN 'PLAYER_DNP'
           ELSE 'UNKNOWN'
         END AS incomplete_type
