"""Stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test creates a venv per sanity test and bootstraps pip in it with a script
from a host this lab cannot reach. This script does the same job with what is here:
Python's own ensurepip, then pip from PyPI at the version ansible-test asks for.
lab/bootstrap.sh puts it where ansible-test caches that script.
"""

import subprocess
import sys

# In a subprocess: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own process, which
# would hide the machine's pip configuration (its CA bundle) from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", "--upgrade"] + args))
