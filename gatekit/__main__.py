import sys

from gatekit.cli import main

sys.exit(main())
