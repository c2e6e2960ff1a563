"""TierFlow command line: `python run.py --help`."""

from sim.cli import main

if __name__ == "__main__":
    main()
