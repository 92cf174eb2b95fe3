"""common.save_table: the CSV + JSON pair every protocol experiment writes."""

import csv
import json

from nestml_lab.experiments import common


def test_save_table_writes_header_rows_and_metadata(tmp_path):
    out = tmp_path / "new" / "folder"
    paths = common.save_table(out, "curve", ["dt_ms", "dw"], ((dt, 0.5 * dt) for dt in (-1.0, 2.0)),
                              {"params": {"n": 3}})
    assert paths == {"csv": out / "curve.csv", "json": out / "curve.json"}
    with open(paths["csv"], newline="") as f:
        assert list(csv.reader(f)) == [["dt_ms", "dw"], ["-1.0", "-0.5"], ["2.0", "1.0"]]
    assert json.loads(paths["json"].read_text()) == {"params": {"n": 3}}
