/* Unit tests: routes_get / routes_find (HOME/routes, the wider format of
 * docs/postman.md), auth_find (HOME/auth), b64_encode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "e2e.h"
#include "i2p.h"
#include "tap.h"

#define B32 "5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p"

static i2p_wellknown w;
static route r;

static int get(char const *text, char const *dom, unsigned int *ln, char const **why)
{
  return routes_get(text, strlen(text), dom, &r, &w, ln, why);
}

static void routes(void)
{
  static char const f[] =
    "# gateway\n"
    "mail.i2p  smtp.postman.i2p auth\n"
    "*\tsmtp.postman.i2p:25 auth\n"
    "Example.COM " B32 ":2525\n"
    "bob.i2p " B32 "\n";
  unsigned int ln = 0;
  char const *why = "";
  int x;
  x = get(f, "mail.i2p", &ln, &why);
  ok(x == 1 && r.byname && r.auth && !r.dflt && r.line == 2 && !strcmp(r.target, "smtp.postman.i2p") && !r.port,
     "mail.i2p: its own line, a host name, auth");
  x = get(f, "joe.example", &ln, &why);
  ok(x == 1 && r.byname && r.auth && r.dflt && r.line == 3 && r.port == 25, "a clearnet domain: the \"*\" line, port 25");
  x = get(f, "example.com", &ln, &why);
  ok(x == 1 && !r.byname && !r.auth && !r.dflt && r.port == 2525 && w.port == 2525 && !strcmp(r.target, B32),
     "example.com: its own line wins over \"*\", a b32 target");
  x = get(f, "carol.i2p", &ln, &why);
  ok(x == 0, "\"*\" does not serve an .i2p domain");
  x = routes_find(f, strlen(f), "mail.i2p", &w, &ln, &why);
  ok(x == 0, "routes_find: a host-name target is not for e2e-resolve");
  x = routes_find(f, strlen(f), "joe.example", &w, &ln, &why);
  ok(x == 0, "routes_find: nor is \"*\"");
  x = routes_find(f, strlen(f), "bob.i2p", &w, &ln, &why);
  ok(x == 1 && !w.full, "routes_find: a destination line as before");
  x = get("* a.i2p\n* b.i2p\n", "x.com", &ln, &why);
  ok(x == -1 && ln == 2 && strstr(why, "twice"), "\"*\" twice: malformed, line 2");
  x = get("x.com smtp.example.com\n", "x.com", &ln, &why);
  ok(x == -1 && strstr(why, "host name"), "a host name outside .i2p: malformed");
  x = get("x.com a.i2p auth auth\n", "x.com", &ln, &why);
  ok(x == -1 && strstr(why, "trailing"), "four words: malformed");
  x = get("x.com a.i2p Auth\n", "x.com", &ln, &why);
  ok(x == -1, "\"Auth\" is not \"auth\"");
  x = get("x.com foo.b32.i2p\n", "x.com", &ln, &why);
  ok(x == -1, "a malformed b32 address is no host name");
}

static void authfile(void)
{
  char dir[] = "/tmp/e2e-unit-auth.XXXXXX", path[64], user[AUTH_USER_MAX + 1], pw[AUTH_PW_MAX + 1], err[512];
  FILE *f;
  int x;
  if (!mkdtemp(dir)) { ok(0, "mkdtemp"); return; }
  snprintf(path, sizeof path, "%s/auth", dir);
  x = auth_find(dir, "smtp.postman.i2p", user, pw, err, sizeof err);
  ok(x == -1 && strstr(err, "missing"), "no file: -1, \"missing\"");
  f = fopen(path, "w");
  fputs("# host user password\n\n  other.i2p bob pw\nSMTP.postman.i2p  alice  a pass phrase \r\n", f);
  fclose(f);
  chmod(path, 0644);
  x = auth_find(dir, "smtp.postman.i2p", user, pw, err, sizeof err);
  ok(x == -1 && strstr(err, "mode 0644"), "mode 0644: refused, saying so");
  chmod(path, 0600);
  x = auth_find(dir, "smtp.postman.i2p", user, pw, err, sizeof err);
  ok(x == 1 && !strcmp(user, "alice") && !strcmp(pw, "a pass phrase "), "found (host in any case; the password is the rest of the line, CR dropped)");
  x = auth_find(dir, "pop.postman.i2p", user, pw, err, sizeof err);
  ok(x == 0 && strstr(err, "no line"), "no line for the host: 0");
  f = fopen(path, "w");
  fputs("smtp.postman.i2p alice\n", f);
  fclose(f);
  x = auth_find(dir, "smtp.postman.i2p", user, pw, err, sizeof err);
  ok(x == -1 && strstr(err, "line 1"), "no password: malformed, line 1");
  unlink(path);
  rmdir(dir);
}

static void b64(void)
{
  char out[64];
  ok(b64_encode(out, "", 0) == 0 && !*out, "base64: empty");
  ok(b64_encode(out, "f", 1) == 4 && !strcmp(out, "Zg=="), "base64: f");
  ok(b64_encode(out, "fo", 2) == 4 && !strcmp(out, "Zm8="), "base64: fo");
  ok(b64_encode(out, "foobar", 6) == 8 && !strcmp(out, "Zm9vYmFy"), "base64: foobar");
  ok(b64_encode(out, "\0alice\0secret", 13) == 20 && !strcmp(out, "AGFsaWNlAHNlY3JldA=="), "base64: a SASL PLAIN response");
  ok(b64_encode(out, "\xff\xfe", 2) == 4 && !strcmp(out, "//4="), "base64: high bytes, standard alphabet");
}

int main(void)
{
  routes();
  authfile();
  b64();
  return done();
}
