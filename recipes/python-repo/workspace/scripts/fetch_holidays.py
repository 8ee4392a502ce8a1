"""Downloads public holidays as tasks (run by hand once a year)."""

import sys

import requests

from taskq.dates import format_date, parse_date


def main(year: str) -> None:
    data = requests.get(f"https://date.nager.at/api/v3/PublicHolidays/{year}/DE", timeout=10).json()
    for day in data:
        print(f"- [ ] {day['localName']} #holiday due:{format_date(parse_date(day['date']))}")


if __name__ == "__main__":
    main(sys.argv[1])
