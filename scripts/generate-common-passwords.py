#!/usr/bin/python3
"""Writes src/IdentityHub.Server/Identity/common-passwords.txt.

Source: the "passwords" frequency list of Debian's python3-zxcvbn package (apt-get install
python3-zxcvbn; MIT licence, Dropbox's zxcvbn), its 10,000 most frequent entries in order, then a
curated tail of passwords common among Chinese users. Run with Debian's /usr/bin/python3.
"""
import pathlib
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: E402

TAIL = """123456789 12345678 11111111 00000000 123123123 1234567890 88888888 111111111 147258369 987654321
aaaaaaaa 1111111111 66666666 a123456789 11223344 1qaz2wsx 789456123 87654321 qqqqqqqq 000000000
qwertyuiop qq123456 31415926 12344321 0000000000 asdfghjkl 1q2w3e4r 123456abc 0123456789 123654789
12121212 qazwsxedc abcd1234 12341234 110110110 asdasdasd 123456aa 5201314520 woaini1314 woaini520
iloveyou1314 a1234567 a12345678 aa123456 abc12345 abc123456 q1w2e3r4 zxcvbnm123 88888888a 1234qwer
qwer1234 asd123456 aini1314 13145200 52013145 zhang123 wang1234 li123456 password1 passw0rd
p@ssw0rd admin123 admin888 root1234 12345678a 123456789a 1q2w3e4r5t 1qaz2wsx3edc 147258369a 159357456""".split()

seen, out = set(), []
for word in FREQUENCY_LISTS["passwords"][:10_000] + TAIL:
    word = word.lower()
    if word not in seen:
        seen.add(word)
        out.append(word)

target = pathlib.Path(__file__).resolve().parent.parent / "src/IdentityHub.Server/Identity/common-passwords.txt"
header = [
    "# Passwords refused by CommonPasswordValidator, compared case-insensitively.",
    '# Lines 1-10,000: the 10,000 most frequent passwords of the "passwords" frequency list that',
    "# Debian's python3-zxcvbn (4.4.28, MIT, Dropbox's zxcvbn) ships in zxcvbn/frequency_lists.py,",
    "# in order; then a curated tail of passwords common among Chinese users. Regenerate with",
    "# scripts/generate-common-passwords.py.",
]
target.write_text("\n".join(header + out) + "\n", encoding="utf-8")
print(f"{len(out)} passwords written to {target}")
