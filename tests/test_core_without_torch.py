"""The core path (read, transform, write, profile, card) must work without torch/transformers."""
import subprocess
import sys

BLOCK = """
import sys, importlib.abc, importlib.machinery
class Refuse(importlib.abc.Loader):
    def create_module(self, spec):
        raise ImportError(f"blocked: {spec.name}")
    def exec_module(self, module):
        raise ImportError("blocked")
class Block(importlib.abc.MetaPathFinder):
    # found (so lazy probes like polars' see a package), but importing it fails: as if broken/absent
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "peft", "accelerate"):
            return importlib.machinery.ModuleSpec(name, Refuse())
        return None
sys.meta_path.insert(0, Block())
"""


def test_convert_and_factorial_run_without_torch(tmp_path, alpaca_path):
    code = BLOCK + f"""
import safetune_data as st
from safetune_data.recipe import load_recipe
from safetune_data.run import run_recipe
st.convert({str(alpaca_path)!r}, {str(tmp_path / 'c')!r})
rec = load_recipe({str(__import__('pathlib').Path(__file__).resolve().parents[1] / 'transforms' / 'paper_factorial.yaml')!r}, select=['structure=markdown,identity=inject,roleplay=add'])
index = run_recipe(rec, {str(tmp_path / 'r')!r})
assert index['variants'][0]['rows'] == 119
assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers') and sys.modules[m] is not None and getattr(sys.modules[m], '__file__', None)]
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    assert (tmp_path / "c" / "README.md").exists()
