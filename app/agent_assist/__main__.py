"""``python -m agent_assist`` runs the command line."""

from agent_assist.cli.main import main

raise SystemExit(main())
