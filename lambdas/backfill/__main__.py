import sys

from lambdas.backfill.cli import main

sys.exit(main())
