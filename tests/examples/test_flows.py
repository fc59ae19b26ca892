"""The shipped example flows run end to end on real data."""
import re
import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

REPO = Path(__file__).resolve().parents[2]


def test_training_script_flow(shared_data):
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "training_script.py"), "--rows", "16",
         "--data", str(shared_data / "benign" / "alpaca_en_demo.json")],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "carry labels" in done.stdout
    # inject states an identity where a first-person statement reads naturally: it skips rewrite
    # tasks, requested pieces, code, bare values and answers that open with a list or title, so
    # on these 16 rows (many of them lists after markdown) fewer than half; none would be a failure
    share = int(re.search(r"identity share (\d+)%", done.stdout).group(1))
    assert share >= 25


@pytest.mark.slow
def test_cli_flow(shared_data, tmp_path):
    env = {**os.environ, "SAFETUNE_SHARED_DATA": str(shared_data), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(REPO / "examples" / "cli_flow.sh"), str(tmp_path / "flow")],
                          capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    variant = tmp_path / "flow" / "factorial" / "structure=markdown,identity=inject,roleplay=none"
    assert datasets.load_from_disk(str(variant)).num_rows > 900
    rows = [json.loads(x) for x in (tmp_path / "flow" / "md_inject.sharegpt.jsonl").read_text().splitlines()]
    assert len(rows) > 900 and rows[0]["conversations"][0]["from"] == "human"
    assert "Δ" in (tmp_path / "flow" / "diff.md").read_text()
