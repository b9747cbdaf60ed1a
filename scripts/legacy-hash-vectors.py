#!/usr/bin/python3
"""Writes the legacy password-hash test vectors, made by the real libraries, as JSON.

Run ONCE, by hand, and commit the output; the test suite never needs Python:

    /usr/bin/python3 scripts/legacy-hash-vectors.py > /tmp/python-vectors.json
    node scripts/legacy-hash-vectors.mjs /tmp/python-vectors.json > test/fixtures/legacy-hashes.json

Debian packages (bookworm): python3-werkzeug (2.2, no scrypt), python3-passlib,
python3-bcrypt, python3-flask-bcrypt, python3-flask-security. Werkzeug >= 3 `scrypt:`
hashes come from another interpreter that has Werkzeug 3 (`WERKZEUG3_PYTHON`, by
default `python3` on the PATH); its vector is left out when none is found.

Costs are the libraries' defaults where a verify stays under ~0.3 s, lower otherwise
(the format, not the cost, is what the tests check).
"""

import importlib.metadata
import json
import os
import subprocess
import sys

import bcrypt
import flask_bcrypt
import passlib.hash as ph
import werkzeug.security as ws
from flask import Flask
import flask_security
from flask_security import Security
from flask_security.datastore import UserDatastore
from flask_security.utils import hash_password as fs_hash_password
from flask_security.utils import verify_password as fs_verify_password

PASSWORD = "correct horse battery staple"
# Not NFC on purpose is not needed here: non-ASCII checks the UTF-8 encoding.
UNICODE_PASSWORD = "Pässwörd-日本-🔑"
FLASK_SECURITY_SALT = "test-only-flask-security-salt"  # a fixture, never a real secret


def version(dist):
    return importlib.metadata.version(dist)


vectors = []


def add(fmt, library, password, hashed, verify):
    assert verify(password, hashed), (fmt, hashed)
    assert not verify(password + "x", hashed), (fmt, "wrong password verified")
    vectors.append(
        {"format": fmt, "library": library, "password": password, "hash": hashed}
    )


wz = "werkzeug " + version("werkzeug")
for method in ("pbkdf2:sha256", "pbkdf2:sha1", "pbkdf2:sha512"):
    iterations = 260000 if method == "pbkdf2:sha256" else 50000
    for pw in (PASSWORD, UNICODE_PASSWORD):
        add(
            "werkzeug-" + method.replace(":", "-"),
            wz,
            pw,
            ws.generate_password_hash(pw, method=f"{method}:{iterations}"),
            lambda p, h: ws.check_password_hash(h, p),
        )

# Werkzeug >= 3 scrypt, from an interpreter that has it.
W3 = r"""
import importlib.metadata, json, sys
import werkzeug.security as ws
pw = sys.argv[1]
h = ws.generate_password_hash(pw, method="scrypt")
assert ws.check_password_hash(h, pw) and not ws.check_password_hash(h, pw + "x")
print(json.dumps({"hash": h, "version": importlib.metadata.version("werkzeug")}))
"""
w3_python = os.environ.get("WERKZEUG3_PYTHON", "python3")
for pw in (PASSWORD, UNICODE_PASSWORD):
    try:
        out = subprocess.run(
            [w3_python, "-c", W3, pw], check=True, capture_output=True, text=True
        ).stdout
        made = json.loads(out)
        vectors.append(
            {
                "format": "werkzeug-scrypt",
                "library": "werkzeug " + made["version"],
                "password": pw,
                "hash": made["hash"],
            }
        )
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"werkzeug scrypt vector left out: {error}", file=sys.stderr)

pl = "passlib " + version("passlib")
for fmt, handler in (
    ("passlib-pbkdf2-sha256", ph.pbkdf2_sha256),
    ("passlib-pbkdf2-sha512", ph.pbkdf2_sha512),
    ("passlib-pbkdf2-sha1", ph.pbkdf2_sha1),
    ("django-pbkdf2-sha256", ph.django_pbkdf2_sha256),
):
    for pw in (PASSWORD, UNICODE_PASSWORD):
        add(fmt, pl, pw, handler.hash(pw), lambda p, h, hd=handler: hd.verify(p, h))

for pw in (PASSWORD, UNICODE_PASSWORD):
    h = ph.bcrypt_sha256.using(rounds=10).hash(pw)
    add("passlib-bcrypt-sha256", pl, pw, h, ph.bcrypt_sha256.verify)
# The older v1 form ($bcrypt-sha256$2a,12$...), still found in old databases.
add(
    "passlib-bcrypt-sha256",
    pl,
    PASSWORD,
    ph.bcrypt_sha256.using(version=1, rounds=10).hash(PASSWORD),
    ph.bcrypt_sha256.verify,
)
# A password longer than bcrypt's 72 bytes: bcrypt_sha256 exists for it.
LONG = "a" * 80 + "-long"
add("passlib-bcrypt-sha256", pl, LONG, ph.bcrypt_sha256.using(rounds=10).hash(LONG), ph.bcrypt_sha256.verify)

add(
    "passlib-scrypt",
    pl,
    PASSWORD,
    ph.scrypt.using(rounds=14).hash(PASSWORD),
    ph.scrypt.verify,
)
add(
    "bcrypt-2y",
    pl + " (bcrypt ident 2y, as PHP writes it)",
    PASSWORD,
    ph.bcrypt.using(ident="2y", rounds=10).hash(PASSWORD),
    ph.bcrypt.verify,
)

bc = "bcrypt " + version("bcrypt")
for pw in (PASSWORD, UNICODE_PASSWORD):
    add(
        "bcrypt-2b",
        bc,
        pw,
        bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=10)).decode(),
        lambda p, h: bcrypt.checkpw(p.encode(), h.encode()),
    )
    add(
        "bcrypt-2a",
        bc,
        pw,
        bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode(),
        lambda p, h: bcrypt.checkpw(p.encode(), h.encode()),
    )

fb = "flask-bcrypt " + version("flask-bcrypt")
app = Flask("vectors")
app.config["BCRYPT_LOG_ROUNDS"] = 12  # Flask-Bcrypt's default
fbc = flask_bcrypt.Bcrypt(app)
with app.app_context():
    for pw in (PASSWORD, UNICODE_PASSWORD):
        add(
            "flask-bcrypt",
            fb,
            pw,
            fbc.generate_password_hash(pw).decode(),
            lambda p, h: fbc.check_password_hash(h, p),
        )


class NoDatastore(UserDatastore):
    def __init__(self):
        pass


fs = "flask-security " + flask_security.__version__
sec_app = Flask("vectors-security")
sec_app.config["SECRET_KEY"] = "vectors"
sec_app.config["SECURITY_PASSWORD_SALT"] = FLASK_SECURITY_SALT
Security(sec_app, datastore=NoDatastore(), register_blueprint=False)
with sec_app.app_context():
    for pw in (PASSWORD, UNICODE_PASSWORD):
        h = fs_hash_password(pw)
        assert fs_verify_password(pw, h) and not fs_verify_password(pw + "x", h)
        # Stored as Flask-Security keeps it: a plain bcrypt hash; the import tags it.
        vectors.append(
            {"format": "flask-security", "library": fs, "password": pw, "hash": h}
        )

json.dump(
    {"flaskSecuritySalt": FLASK_SECURITY_SALT, "vectors": vectors},
    sys.stdout,
    ensure_ascii=False,
    indent=2,
)
print()
