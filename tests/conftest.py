import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Messages follow the locale (policyc --lang); the tests read them in English wherever they
# run, except those that set the language themselves.
os.environ["POLICYC_LANG"] = "en"
