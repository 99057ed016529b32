#!/usr/bin/env bash
# Creates the development certificates that IdentityHub signs and encrypts tokens with:
#   signing-rsa.pfx     RSA 2048, RS256 (the default signing algorithm)
#   signing-ec.pfx      ECDSA P-256, ES256 (Oidc:SigningAlgorithm=ES256)
#   encryption-rsa.pfx  RSA 2048, encrypts tokens only the server reads (authorization codes, refresh tokens)
# all PKCS#12 with the password "identityhub-dev". The server creates the same files itself on the
# first Development start if they are absent; this script is for people who prefer openssl, or who
# want to rotate them (delete the files, run the script, restart).
# These files hold private keys: they are git-ignored and must never be committed or used in production.
set -euo pipefail
cd "$(dirname "$0")"
PASS=identityhub-dev
DAYS=730
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make_pfx() { # name subject keyfile usage
  local name=$1 subject=$2 key=$3 usage=$4
  if [ -f "$name.pfx" ]; then echo "exists: $name.pfx (delete it to renew)"; return; fi
  openssl req -x509 -new -key "$key" -subj "$subject" -days "$DAYS" -sha256 \
    -addext "keyUsage=critical,$usage" -out "$tmp/$name.crt" 2>/dev/null
  openssl pkcs12 -export -inkey "$key" -in "$tmp/$name.crt" -out "$name.pfx" -passout "pass:$PASS"
  chmod 600 "$name.pfx"
  echo "created: $name.pfx"
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/signing-rsa.key" 2>/dev/null
make_pfx signing-rsa "/CN=IdentityHub Development Signing RS256" "$tmp/signing-rsa.key" digitalSignature

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/signing-ec.key" 2>/dev/null
make_pfx signing-ec "/CN=IdentityHub Development Signing ES256" "$tmp/signing-ec.key" digitalSignature

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/encryption-rsa.key" 2>/dev/null
make_pfx encryption-rsa "/CN=IdentityHub Development Encryption" "$tmp/encryption-rsa.key" keyEncipherment
