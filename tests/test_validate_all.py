"""One ``bfplan validate`` lists every problem of a plan at once, each at its line — the file's
own, the plugins', the DAG's and the notification settings' alike."""

from __future__ import annotations


def test_five_kinds_of_problem_in_one_answer(write_plan, bfplan, tmp_path):
    plan = write_plan("""
        name: many
        dates: {start: 2021-11-05, end: 2021-11-01}
        plugins: ["{toy}", "nowhere"]
        notify: [{webhook: {url: "ftp://x"}}]
        phases:
          - name: one
            processors:
              - {name: src, depends_on: [dbl]}
              - dbl
              - srcc
        """)
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 5
    assert lines[0] == f"{plan}:2:8: dates: start 2021-11-05 is after end 2021-11-01"
    assert lines[1].startswith(f"{plan}:3:") and lines[1].endswith(
        f": plugins[1]: plugin path {tmp_path / 'nowhere'} does not exist (expected a package directory or a .py file)")
    assert lines[2] == f"{plan}:4:26: notify[0].webhook.url: expected an http(s) URL, got 'ftp://x'"
    assert lines[3] == (f"{plan}:8:9: phases[0].processors[0]: dependency cycle: src -> dbl -> src; "
                        "dbl (line 9) reads toy.src (src); src (line 8) depends_on (dbl)")
    assert lines[4] == f"{plan}:10:9: phases[0].processors[2]: unknown processor 'srcc' (did you mean 'src'?)"


def test_a_plan_reading_a_later_phase_is_a_plan_error_at_validate(write_plan, bfplan):
    plan = write_plan("""
        name: order
        dates: {start: 2021-11-01, end: 2021-11-02}
        plugins: ["{toy}"]
        phases:
          - name: one
            processors: [dbl]
          - name: two
            processors: [src]
        """)
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr == (f"{plan}:6:18: phases[0].processors[0]: processor 'dbl' reads toy.src, which 'src' "
                             "produces in a later phase (two); move it to phase two or later\n")
