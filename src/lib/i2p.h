/* i2p.h — I2P formats: base64 and base32, destinations, private-key
 * blobs, b32 addresses and the well-known file.
 *
 * Strict parsers over caller-owned buffers; nothing allocates. Every
 * parser returns 0 on success or one of the I2P_E* reasons below, which
 * i2p_reason() puts in words for a log line or an error message. Output
 * buffers hold garbage after a failure. */
#ifndef E2E_I2P_H
#define E2E_I2P_H

#include <stddef.h>

/* ---- reasons ---- */
#define I2P_ESYNTAX   1   /* a character outside the alphabet, bad padding or bits */
#define I2P_ESPACE    2   /* longer than the output buffer or than any key we accept */
#define I2P_ETRUNC    3   /* shorter than its own structure says */
#define I2P_ETRAIL    4   /* bytes after the destination */
#define I2P_ECERT     5   /* certificate neither NULL nor KEY, or of the wrong length */
#define I2P_ESIGTYPE  6   /* signature type we do not support */
#define I2P_ECRYPTO   7   /* encryption type we do not support */
#define I2P_EOFFLINE  8   /* offline-signed private key: not supported */
#define I2P_EPRIVATE  9   /* a private key where a public destination belongs */
#define I2P_EPUBLIC  10   /* a public destination where a private key belongs */
#define I2P_EPORT    11   /* port not a plain decimal in 1..65535 */
#define I2P_EB32     12   /* not <52 base32 chars>.b32.i2p (56+ are encrypted leasesets) */
char const *i2p_reason(int e);

/* ---- sizes ---- */
#define I2P_B64_LEN(n) ((((n) + 2) / 3) * 4)   /* encoded length, padding included */
#define I2P_B32_LEN(n) (((n) * 8 + 4) / 5)     /* encoded length, no padding */
#define I2P_HASH_LEN 32
#define I2P_B32_ADDR_LEN 60                    /* 52 chars + ".b32.i2p" */
#define I2P_DEST_MIN 387                       /* 384 bytes of keys + NULL certificate */
#define I2P_DEST_MAX 395                       /* ECDSA-P521: 4 key bytes spill into the certificate */
#define I2P_PRIV_MAX (I2P_DEST_MAX + 256 + 66) /* + ElGamal + P521 private keys */
#define I2P_DEST_B64_MAX I2P_B64_LEN(I2P_DEST_MAX)
#define I2P_PRIV_B64_MAX I2P_B64_LEN(I2P_PRIV_MAX)
#define I2P_WELLKNOWN_MAX 4096

/* Signature types we accept in destinations (others: I2P_ESIGTYPE) */
#define I2P_SIG_DSA_SHA1 0
#define I2P_SIG_ECDSA_P256 1
#define I2P_SIG_ECDSA_P384 2
#define I2P_SIG_ECDSA_P521 3
#define I2P_SIG_ED25519 7
#define I2P_SIG_REDDSA 11
/* Encryption types (0..4 in destinations; only 0 and 4 in private keys) */
#define I2P_CRYPTO_ELGAMAL 0
#define I2P_CRYPTO_X25519 4

/* ---- I2P base64: A-Z a-z 0-9 - ~ ---- */
/* Writes I2P_B64_LEN(n) characters ('=' padded), no NUL; returns that. */
size_t i2p_b64_encode(char *out, unsigned char const *in, size_t n);
/* Decodes n characters; padding optional, but where present it must be
 * right; nonzero leftover bits, '+', '/', blanks: I2P_ESYNTAX; more than
 * max bytes: I2P_ESPACE. */
int i2p_b64_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n);
/* The same for RFC 4648's standard alphabet ('+' and '/'), e.g. for SASL. */
int std_b64_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n);

/* ---- base32, RFC 4648 alphabet, lower case, no padding ---- */
size_t i2p_b32_encode(char *out, unsigned char const *in, size_t n);
/* Either case; no padding; nonzero leftover bits are I2P_ESYNTAX. */
int i2p_b32_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n);

/* ---- destinations ---- */
typedef struct i2p_dest {
  size_t len;               /* bytes, certificate included: 387 + certificate length */
  unsigned int certtype;    /* 0 (NULL) or 5 (KEY) */
  unsigned int sigtype;     /* I2P_SIG_*: DSA_SHA1 under a NULL certificate */
  unsigned int cryptotype;  /* I2P_CRYPTO_*: ElGamal under a NULL certificate */
} i2p_dest;

/* A destination starts the len bytes at s: fills d (d->len is its length). */
int i2p_dest_prefix(i2p_dest *d, unsigned char const *s, size_t len);
/* s is exactly one destination; a private-key blob is I2P_EPRIVATE, any
 * other bytes after the destination I2P_ETRAIL. */
int i2p_dest_parse(i2p_dest *d, unsigned char const *s, size_t len);
/* Decodes base64 into bin (max bytes) and parses it as one destination. */
int i2p_dest_b64(i2p_dest *d, unsigned char *bin, size_t max, char const *b64, size_t n);

/* ---- private-key blobs: destination || encryption key || signing key ---- */
typedef struct i2p_priv {
  i2p_dest dest;            /* the public destination: the first dest.len bytes */
  size_t len;               /* the whole blob */
  size_t enclen;            /* encryption private key: ElGamal 256, X25519 32 */
  size_t siglen;            /* signing private key: Ed25519 32, DSA 20, ... */
} i2p_priv;

/* s is exactly one private-key blob. An all-zero signing key (an offline
 * signature follows) is I2P_EOFFLINE; a bare destination I2P_EPUBLIC. */
int i2p_priv_parse(i2p_priv *k, unsigned char const *s, size_t len);
/* Decodes base64 into bin (max bytes, I2P_PRIV_MAX is enough) and parses. */
int i2p_priv_b64(i2p_priv *k, unsigned char *bin, size_t max, char const *b64, size_t n);
/* The text of a key file ($E2E_HOME/key, as e2e-keygen writes it): the
 * base64 blob as SAM gave it, then an optional "\n". *b64len gets the
 * length of the base64 text (what SESSION CREATE's DESTINATION= takes). */
int i2p_keyfile_parse(i2p_priv *k, unsigned char *bin, size_t max, size_t *b64len,
                      char const *text, size_t n);

/* ---- b32 addresses ---- */
/* SHA-256 over the whole binary destination. */
void i2p_dest_hash(unsigned char hash[I2P_HASH_LEN], unsigned char const *dest, size_t len);
/* "<52 chars>.b32.i2p" and a NUL into out (I2P_B32_ADDR_LEN + 1 bytes). */
void i2p_b32_of_hash(char *out, unsigned char const hash[I2P_HASH_LEN]);
void i2p_b32_address(char *out, unsigned char const *dest, size_t len);
/* s (len bytes, any case) is a b32 mail domain: exactly 52 base32 chars,
 * then ".b32.i2p". hash gets the 32 bytes it names (unless NULL). */
int i2p_b32_domain(unsigned char *hash, char const *s, size_t len);
/* 1 when the NUL-terminated s is a b32 mail domain, else 0. */
int i2p_is_b32_domain(char const *s);

/* ---- comparing destinations ---- */
/* 1 when a and b are valid destinations and the same, else 0. */
int i2p_dest_same(unsigned char const *a, size_t alen, unsigned char const *b, size_t blen);
/* The same for two base64 texts, compared decoded. */
int i2p_dest_same_b64(char const *a, size_t alen, char const *b, size_t blen);
/* 1 when the binary destination hashes to the b32 address (any case). */
int i2p_dest_is_b32(unsigned char const *dest, size_t len, char const *b32, size_t n);

/* ---- the well-known file, /.well-known/i2pmail.key ---- */
/* A full base64 destination or a b32 address, optionally followed by
 * blanks (spaces, tabs) and a decimal port in 1..65535, optionally ended
 * by "\n" or "\r\n"; at most I2P_WELLKNOWN_MAX bytes. Nothing else. */
typedef struct i2p_wellknown {
  int full;                              /* 1: a full destination; 0: a b32 address */
  unsigned char hash[I2P_HASH_LEN];      /* always: the b32 hash */
  unsigned char dest[I2P_DEST_MAX];      /* when full: the binary destination */
  i2p_dest d;                            /* when full: its structure */
  unsigned int port;                     /* 0 when none given */
} i2p_wellknown;
int i2p_wellknown_parse(i2p_wellknown *w, char const *s, size_t len);
/* 1 when the binary destination is the one w names (by hash for a b32). */
int i2p_wellknown_match(i2p_wellknown const *w, unsigned char const *dest, size_t len);

#endif
