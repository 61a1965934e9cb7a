"""`python -m rasa_extensions run|shell ARGS...`: Rasa's own command line (the same as
`rasa run|shell ARGS...`) with Parley's extensions installed first (rasa_extensions/__init__.py).
Another Rasa version than the one they were written for: exit 1 before Rasa starts."""
import sys

import rasa_extensions


def main() -> None:
    rasa_extensions.check_rasa_version()  # before Rasa's heavy imports
    from rasa.__main__ import main as rasa_main  # the `rasa` command's own entry point

    rasa_extensions.install()
    sys.argv = ["rasa", *sys.argv[1:]]
    sys.exit(rasa_main())


if __name__ == "__main__":
    main()
