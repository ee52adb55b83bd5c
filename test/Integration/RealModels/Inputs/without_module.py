"""Runs a script as if MODULE were not installed: without_module.py MODULE
SCRIPT ARGS... (an import hook refuses MODULE, so the test does not depend
on what this machine has)."""
import runpy
import sys


class Refuse:
    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ImportError(f"No module named '{fullname}'")
        return None


sys.meta_path.insert(0, Refuse(sys.argv[1]))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
