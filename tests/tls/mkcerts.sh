#!/bin/sh
# tests/tls/mkcerts.sh DIR: test certificates made with openssl, never kept:
#   ca.pem          a root CA (EC P-256), what clients trust
#   rsa/cert.pem    leaf (RSA 2048, CN=localhost, SAN localhost, 127.0.0.1
#                   and 127.0.0.2) then the intermediate CA (RSA) that
#                   signed it
#   rsa/key.pem     its key, PKCS#1 ("RSA PRIVATE KEY")
#   ec/cert.pem     leaf (EC P-256) signed by the root directly
#   ec/key.pem      its key as `openssl ecparam -genkey` writes it (an "EC
#                   PARAMETERS" block, then "EC PRIVATE KEY")
#   other/key.pem   an RSA key (PKCS#8) that belongs to no certificate
set -e
d=$1
mkdir -p "$d/rsa" "$d/ec" "$d/other"
cd "$d"
q() { openssl "$@" 2>/dev/null; }
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2\nextendedKeyUsage=serverAuth\n' >leaf.ext
q ecparam -genkey -name prime256v1 -noout -out ca.key
q req -x509 -new -key ca.key -subj /CN=e2e-test-root -days 2 -sha256 -out ca.pem
q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out int.key
q req -new -key int.key -subj /CN=e2e-test-intermediate -out int.csr
q x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile ca.ext -out int.pem
q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa/pkcs8.key
q rsa -in rsa/pkcs8.key -traditional -out rsa/key.pem
q req -new -key rsa/key.pem -subj /CN=localhost -out rsa/leaf.csr
q x509 -req -in rsa/leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 2 -sha256 -extfile leaf.ext -out rsa/leaf.pem
cat rsa/leaf.pem int.pem >rsa/cert.pem
q ecparam -genkey -name prime256v1 -out ec/key.pem
q req -new -key ec/key.pem -subj /CN=localhost -out ec/leaf.csr
q x509 -req -in ec/leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile leaf.ext -out ec/cert.pem
q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other/key.pem
grep -q 'EC PARAMETERS' ec/key.pem && grep -q 'BEGIN RSA PRIVATE KEY' rsa/key.pem && grep -q 'BEGIN PRIVATE KEY' other/key.pem
