"""``python -m lambdas.ledger_processor``."""

from lambdas.ledger_processor.cli import main

raise SystemExit(main())
