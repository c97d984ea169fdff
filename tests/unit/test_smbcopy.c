/* Unit tests for smbcopy's pure parts: option parsing, credentials, JSON. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../tools/common/secrets.h"
#include "../../tools/smbcopy/smbcopy.h"
#include "../../tools/smbcopy/names.h"
#include "testutil.h"

volatile sig_atomic_t sc_interrupted = 0;

static int parse(sc_opts *o, char *err, size_t errlen, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"smbcopy";
    va_list ap;
    va_start(ap, errlen);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = (char *)(uintptr_t)a; /* getopt does not write */
    va_end(ap);
    argv[argc] = NULL;
    sc_opts_init(o);
    err[0] = '\0';
    return sc_opts_parse(o, argc, argv, err, errlen);
}

START_TEST(test_opts_basic)
{
    sc_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", "smb://h/s/b", NULL), 0);
    ck_assert_str_eq(o.src, "a");
    ck_assert_str_eq(o.dst, "smb://h/s/b");
    ck_assert(o.preserve);
    ck_assert_int_eq(o.progress, -1);
    ck_assert_int_eq(o.depth, SC_DEFAULT_DEPTH);
    ck_assert_int_eq(o.method, SC_METHOD_AUTO);
    ck_assert(!o.sync);                                   /* durability only on request */
    ck_assert_int_eq(o.connections, SC_CONNECTIONS_AUTO); /* lanes by size */
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--connections=3", "a", "b", NULL), 0);
    ck_assert_int_eq(o.connections, 3);
    ck_assert_int_eq(
        parse(&o, err, sizeof(err), "--connections=1", "--connections=auto", "a", "b", NULL), 0);
    ck_assert_int_eq(o.connections, SC_CONNECTIONS_AUTO);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--connections=0", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--connections=9", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--connections=Auto", "a", "b", NULL), -1);
    /* A usage error never echoes a URL's password. */
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", "b", "smb://u:Pw9@h/s/c", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "'smb://u@h/s/c'"));
    ck_assert_ptr_null(strstr(err, "Pw9"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--sync", "a", "b", NULL), 0);
    ck_assert(o.sync);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--sync", "--no-sync", "a", "b", NULL), 0);
    ck_assert(!o.sync);

    ck_assert_int_eq(parse(&o, err, sizeof(err), "-rq", "--json", "-U", "DOM\\bob%pw",
                           "--min-protocol=SMB2_10", "--max-protocol", "SMB3_11", "x", "y",
                           "--timeout=2.5", "--method=stream", "--depth=4", "--resume",
                           "--no-preserve", "--no-progress", "-Afile", NULL),
                     0);
    ck_assert(o.recursive && o.quiet && o.json && o.resume && !o.preserve);
    ck_assert_str_eq(o.user_arg, "DOM\\bob%pw");
    ck_assert_str_eq(o.authfile, "file");
    ck_assert_uint_eq(o.min_proto, SMBW_SMB2_10);
    ck_assert_uint_eq(o.max_proto, SMBW_SMB3_11);
    ck_assert_int_eq(o.timeout_ms, 2500);
    ck_assert_int_eq(o.method, SC_METHOD_STREAM);
    ck_assert_int_eq(o.depth, 4);
    ck_assert_int_eq(o.progress, 0);
    ck_assert_str_eq(o.src, "x");
    ck_assert_str_eq(o.dst, "y");

    /* Security options (issue 4). */
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", "b", NULL), 0);
    ck_assert(!o.kerberos && !o.kerberos_fallback && o.service_host == NULL);
    ck_assert_int_eq(o.nciphers, 0);
    ck_assert_int_eq(o.verbose, 0);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-kv", "--kerberos-fallback",
                           "--service-host=files.example.com", "--cipher=aes-256-gcm,AES-128-CCM",
                           "-vv", "a", "b", NULL),
                     0);
    ck_assert(o.kerberos && o.kerberos_fallback);
    ck_assert_str_eq(o.service_host, "files.example.com");
    ck_assert_int_eq(o.nciphers, 2);
    ck_assert_uint_eq(o.ciphers[0], SMBW_CIPHER_AES_256_GCM);
    ck_assert_uint_eq(o.ciphers[1], SMBW_CIPHER_AES_128_CCM);
    ck_assert_int_eq(o.verbose, 3);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-vvvvv", "--verbose", "a", "b", NULL), 0);
    ck_assert_int_eq(o.verbose, SC_MAX_VERBOSE);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--cipher",
                           "AES-128-GCM,AES-128-CCM,AES-256-GCM,AES-256-CCM", "a", "b", NULL),
                     0);
    ck_assert_int_eq(o.nciphers, 4);
    ck_assert_uint_eq(o.ciphers[3], SMBW_CIPHER_AES_256_CCM);

    ck_assert_int_eq(parse(&o, err, sizeof(err), "--", "-x", "--y", NULL), 0);
    ck_assert_str_eq(o.src, "-x");
    ck_assert_str_eq(o.dst, "--y");

    ck_assert_int_eq(parse(&o, err, sizeof(err), "--help", NULL), 0);
    ck_assert(o.help);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--version", NULL), 0);
    ck_assert(o.version);
}
END_TEST

START_TEST(test_opts_errors)
{
    sc_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, err, sizeof(err), NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", "b", "c", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--bogus", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "--bogus"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-Z", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "a", "b", "-U", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "needs an argument"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--json=1", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--min-protocol=SMB4", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "SMB4"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--min-protocol=SMB3_11", "--max-protocol=SMB2_02",
                           "a", "b", NULL),
                     -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--timeout=0", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--timeout=-3", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--timeout=abc", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--timeout=nan", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--timeout=1e99", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--method=fast", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--depth=0", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--depth=33", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--depth=4x", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-U", "", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-U%pw", "a", "b", NULL), -1);
    /* Security options. */
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--cipher=AES-512-GCM", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "AES-512-GCM"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--cipher=", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--cipher=AES-128-GCM,", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--cipher=,AES-128-GCM", "a", "b", NULL), -1);
    ck_assert_int_eq(
        parse(&o, err, sizeof(err), "--cipher=AES-128-GCM,aes-128-gcm", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--kerberos-fallback", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "-k"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--service-host=h", "a", "b", NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "-k"));
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-k", "--service-host=", "a", "b", NULL), -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "-k", "--service-host=cifs/h", "a", "b", NULL),
                     -1);
    ck_assert_int_eq(parse(&o, err, sizeof(err), "--verbose=2", "a", "b", NULL), -1);
}
END_TEST

START_TEST(test_help_covers_table)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    sc_opts_help(f);
    fclose(f);
    for (size_t i = 0; i < sc_noptdefs; i++) {
        char want[64];
        snprintf(want, sizeof(want), "--%s", sc_optdefs[i].longopt);
        ck_assert_msg(strstr(buf, want) != NULL, "help lacks %s", want);
        ck_assert_ptr_nonnull(sc_optdefs[i].doc);
    }
    ck_assert_ptr_nonnull(strstr(buf, "130"));
    free(buf);
}
END_TEST

START_TEST(test_user_arg)
{
    tool_creds c;
    ck_assert_int_eq(tool_parse_user_arg("bob", &c), 0);
    ck_assert_str_eq(c.user, "bob");
    ck_assert_ptr_null(c.domain);
    ck_assert_ptr_null(c.password);
    tool_creds_clear(&c);

    ck_assert_int_eq(tool_parse_user_arg("DOM\\bob%p%w\\x", &c), 0);
    ck_assert_str_eq(c.domain, "DOM");
    ck_assert_str_eq(c.user, "bob");
    ck_assert_str_eq(c.password, "p%w\\x");
    tool_creds_clear(&c);

    ck_assert_int_eq(tool_parse_user_arg("DOM/bob%", &c), 0);
    ck_assert_str_eq(c.domain, "DOM");
    ck_assert_str_eq(c.password, "");
    tool_creds_clear(&c);

    ck_assert_int_eq(tool_parse_user_arg("\\bob", &c), 0);
    ck_assert_ptr_null(c.domain);
    ck_assert_str_eq(c.user, "bob");
    tool_creds_clear(&c);

    ck_assert_int_eq(tool_parse_user_arg("DOM\\", &c), -1);
    ck_assert_int_eq(tool_parse_user_arg("%pw", &c), -1);
}
END_TEST

static int auth(const char *text, tool_creds *c, char *err)
{
    return tool_parse_auth_text(text, strlen(text), c, err, 128);
}

START_TEST(test_auth_file)
{
    tool_creds c;
    char err[128];
    ck_assert_int_eq(auth("# comment\n; other\n\nusername = alice\npassword=  s e=cret  \r\n"
                          "domain\t=\tWORK\n",
                          &c, err),
                     0);
    ck_assert_str_eq(c.user, "alice");
    ck_assert_str_eq(c.password, "s e=cret");
    ck_assert_str_eq(c.domain, "WORK");
    tool_creds_clear(&c);

    ck_assert_int_eq(auth("username=D\\u\npassword=", &c, err), 0);
    ck_assert_str_eq(c.user, "u");
    ck_assert_str_eq(c.domain, "D");
    ck_assert_str_eq(c.password, "");
    tool_creds_clear(&c);

    ck_assert_int_eq(auth("", &c, err), 0);
    ck_assert_ptr_null(c.user);
    ck_assert_int_eq(auth("username alice\n", &c, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    ck_assert_int_eq(auth("username=a\nfoo=bar\n", &c, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 2"));
    ck_assert_ptr_null(c.user);
    ck_assert_int_eq(tool_parse_auth_text("username=a\0b", 12, &c, err, sizeof(err)), -1);

    /* In a private directory under TMPDIR (or the build directory). */
    char dir[512], path[600];
    it_tmpdir(dir, sizeof dir, "smbcopy-auth");
    snprintf(path, sizeof path, "%s/auth-XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *body = "username = bob\npassword = pw\n";
    ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    unsigned mode = 1;
    ck_assert_int_eq(tool_parse_auth_file(path, &c, &mode, err, sizeof(err)), 0);
    ck_assert_str_eq(c.user, "bob");
    ck_assert_str_eq(c.password, "pw");
    ck_assert_uint_eq(mode, 0600); /* mkstemp's */
    tool_creds_clear(&c);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(tool_parse_auth_file(path, &c, &mode, err, sizeof(err)), 0);
    ck_assert_uint_eq(mode, 0640);
    tool_creds_clear(&c);
    unlink(path);
    ck_assert_int_eq(tool_parse_auth_file(path, &c, &mode, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot open it"));
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(tool_parse_auth_file("/", &c, &mode, err, sizeof(err)), -1);
}
END_TEST

/* Burns a copy of arg with f and checks the bytes: want, then NULs up to
 * the original length. */
static void check_burn(bool (*f)(char *), const char *arg, const char *want, bool burnt)
{
    size_t n = strlen(arg);
    char buf[256];
    ck_assert_uint_lt(n, sizeof(buf));
    memcpy(buf, arg, n + 1);
    ck_assert_int_eq(f(buf), burnt);
    ck_assert_str_eq(buf, want);
    for (size_t i = strlen(want); i <= n; i++)
        ck_assert_msg(buf[i] == '\0', "%s: byte %zu not wiped", arg, i);
}

START_TEST(test_burn_user_password)
{
    check_burn(tool_burn_user_password, "bob%secret", "bob", true);
    check_burn(tool_burn_user_password, "DOM\\bob%p%w\\x", "DOM\\bob", true);
    check_burn(tool_burn_user_password, "bob%", "bob", true);
    check_burn(tool_burn_user_password, "bob", "bob", false);
}
END_TEST

START_TEST(test_burn_url_password)
{
    check_burn(tool_burn_url_password, "smb://bob:secret@h:4455/s/p", "smb://bob@h:4455/s/p", true);
    check_burn(tool_burn_url_password, "SMB://D;bob:se:c@r@t@[::1]/s", "SMB://D;bob@[::1]/s", true);
    check_burn(tool_burn_url_password, "smb://bob:@h/s", "smb://bob@h/s", true);
    check_burn(tool_burn_url_password, "smb://:pw@h/s", "smb://@h/s", true);
    check_burn(tool_burn_url_password, "smb://bob@h/s/a:b@c", "smb://bob@h/s/a:b@c", false);
    check_burn(tool_burn_url_password, "smb://h:445/s\\x:y@z", "smb://h:445/s\\x:y@z", false);
    check_burn(tool_burn_url_password, "bob:pw@h/s", "bob:pw@h/s", false);
    /* The burnt URL still parses to the same place, minus the password. */
    smbw_url *u = NULL;
    char buf[] = "smb://WORK;alice:pa%40ss@files:4455/share/dir/f";
    ck_assert_int_eq(smbw_url_parse(&u, buf), 0);
    ck_assert_str_eq(u->password, "pa@ss");
    smbw_url_free(u);
    ck_assert(tool_burn_url_password(buf));
    ck_assert_int_eq(smbw_url_parse(&u, buf), 0);
    ck_assert_ptr_null(u->password);
    ck_assert_str_eq(u->domain, "WORK");
    ck_assert_str_eq(u->user, "alice");
    ck_assert_str_eq(u->host, "files");
    ck_assert_int_eq(u->port, 4455);
    ck_assert_str_eq(u->share, "share");
    ck_assert_str_eq(u->path, "dir/f");
    smbw_url_free(u);
}
END_TEST

/* Every form of -U and every URL operand loses its password; nothing else
 * changes (option values that merely look alike included). */
START_TEST(test_burn_argv)
{
    char a1[] = "-U", a2[] = "bob%s1", a3[] = "--user=DOM\\al%s2", a4[] = "-qrUcy%s3",
         a5[] = "--user", a6[] = "dee%s4", a7[] = "-A", a8[] = "x%y", a9[] = "smb://u:s5@h/s/f",
         a10[] = "--", a11[] = "smb://D;v:s6@h/s/", a12[] = "-U", a13[] = "local%name";
    char *argv[] = {
        (char *)"smbcopy", a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, NULL};
    int argc = 14;
    sc_opts_burn_secrets(argc, argv);
    ck_assert_str_eq(a2, "bob");
    ck_assert_str_eq(a3, "--user=DOM\\al");
    ck_assert_str_eq(a4, "-qrUcy");
    ck_assert_str_eq(a6, "dee");
    ck_assert_str_eq(a8, "x%y"); /* -A's value is a file name */
    ck_assert_str_eq(a9, "smb://u@h/s/f");
    ck_assert_str_eq(a11, "smb://D;v@h/s/");
    ck_assert_str_eq(a12, "-U"); /* after "--": an operand, not an option */
    ck_assert_str_eq(a13, "local%name");
    ck_assert_str_eq(a1, "-U");
    ck_assert_str_eq(a7, "-A");
    ck_assert_str_eq(a10, "--");
}
END_TEST

START_TEST(test_resolve_order)
{
    tool_creds cli = {.user = (char *)"cli", .password = (char *)"clipw", .domain = (char *)"CD"};
    tool_creds file = {
        .user = (char *)"file", .password = (char *)"filepw", .domain = (char *)"FD"};
    smbw_url url = {.user = (char *)"url", .password = (char *)"urlpw", .domain = (char *)"UD"};
    tool_creds out;
    ck_assert_int_eq(tool_resolve_creds(&cli, &url, &file, "envpw", "envuser", &out), 0);
    ck_assert_str_eq(out.user, "cli");
    ck_assert_str_eq(out.password, "clipw");
    ck_assert_str_eq(out.domain, "CD");
    tool_creds_clear(&out);

    tool_creds none = {0};
    ck_assert_int_eq(tool_resolve_creds(&none, &url, &file, "envpw", "envuser", &out), 0);
    ck_assert_str_eq(out.user, "url");
    ck_assert_str_eq(out.password, "urlpw");
    ck_assert_str_eq(out.domain, "UD");
    tool_creds_clear(&out);

    smbw_url bare = {0};
    ck_assert_int_eq(tool_resolve_creds(&none, &bare, &file, "envpw", "envuser", &out), 0);
    ck_assert_str_eq(out.user, "file");
    ck_assert_str_eq(out.password, "filepw");
    ck_assert_str_eq(out.domain, "FD");
    tool_creds_clear(&out);

    ck_assert_int_eq(tool_resolve_creds(&none, &bare, &none, "envpw", "envuser", &out), 0);
    ck_assert_str_eq(out.user, "envuser");
    ck_assert_str_eq(out.password, "envpw");
    ck_assert_ptr_null(out.domain);
    tool_creds_clear(&out);

    ck_assert_int_eq(tool_resolve_creds(&none, &bare, &none, NULL, "", &out), 0);
    ck_assert_ptr_null(out.user);
    ck_assert_ptr_null(out.password);
    tool_creds_clear(&out);
}
END_TEST

static char *json_of(const char *s)
{
    tool_buf b = {0};
    tool_json_str(&b, s);
    ck_assert(!b.failed);
    return b.p;
}

START_TEST(test_json_escape)
{
    char *j = json_of("a\"b\\c\n\t\x01\x7f/\xc3\xa9\xe6\x97\xa5");
    ck_assert_str_eq(j, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f/\xc3\xa9\xe6\x97\xa5\"");
    free(j);
    j = json_of("x\xff\xc3y\xed\xa0\x80z");
    ck_assert_str_eq(j, "\"x\\ufffd\\ufffdy\\ufffd\\ufffd\\ufffdz\"");
    free(j);
    j = json_of("\xc3");
    ck_assert_str_eq(j, "\"\\ufffd\"");
    free(j);
    tool_buf b = {0};
    tool_json_str(&b, NULL);
    ck_assert_str_eq(b.p, "null");
    tool_buf_free(&b);
}
END_TEST

START_TEST(test_summary)
{
    sc_summary s = {.ok = true,
                    .method = "stream",
                    .src = "a\"b",
                    .dst = "smb://h/s/x",
                    .bytes = 5000000000ull,
                    .files = 1,
                    .seconds = 1.5,
                    .dialect = "SMB3_11"};
    sc_prot prot;
    memset(&prot, 0, sizeof(prot));
    sc_prot_note(&prot, true, "AES-128-GMAC", false, "none");
    s.prot = &prot;
    char *j = sc_summary_json(&s);
    ck_assert_str_eq(j, "{\"ok\":true,\"method\":\"stream\",\"src\":\"a\\\"b\",\"dst\":\"smb://h/s/"
                        "x\",\"src_resolved\":null,\"dst_resolved\":null,"
                        "\"bytes\":5000000000,\"files\":1,\"failed\":0,\"skipped\":0,"
                        "\"seconds\":1.500,\"dialect\":\"SMB3_11\",\"signing\":\"AES-128-GMAC\","
                        "\"encryption\":false,\"cipher\":\"none\",\"collisions\":[],"
                        "\"exit_code\":0}\n");
    free(j);
    sc_prot_note(&prot, true, "AES-128-GMAC", true, "AES-256-GCM");
    ck_assert_int_eq(prot.nsessions, 2);
    j = sc_summary_json(&s);
    ck_assert_ptr_nonnull(strstr(j, "\"signing\":\"AES-128-GMAC\",\"encryption\":false,"
                                    "\"cipher\":\"none\","));
    free(j);
    /* No SMB session at all: null, like the dialect. */
    s.prot = NULL;
    j = sc_summary_json(&s);
    ck_assert_ptr_nonnull(strstr(j, "\"signing\":null,\"encryption\":null,\"cipher\":null"));
    free(j);
    s.ok = false;
    s.dialect = NULL;
    s.error = "open x: no such file";
    s.exit_code = 5;
    j = sc_summary_json(&s);
    ck_assert_ptr_nonnull(strstr(j, "\"dialect\":null"));
    ck_assert_ptr_nonnull(strstr(j, "\"error\":\"open x: no such file\""));
    ck_assert_ptr_nonnull(strstr(j, "\"ok\":false"));
    free(j);
    char *names[2] = {"smb://h/s/d/xt_connmark.h", "/src/d/A\"b"};
    s.collisions = names;
    s.ncollisions = 2;
    j = sc_summary_json(&s);
    ck_assert_ptr_nonnull(
        strstr(j, "\"collisions\":[\"smb://h/s/d/xt_connmark.h\",\"/src/d/A\\\"b\"]"));
    free(j);
}
END_TEST

/* Destination names of one run, looked up case-insensitively. */
START_TEST(test_nameset)
{
    char *f = sc_name_fold("dir/xt_connmark.h");
    ck_assert_str_eq(f, "DIR/XT_CONNMARK.H");
    free(f);
    /* Beyond ASCII: the simple upper-case mapping (e-acute, sigma, Cyrillic). */
    f = sc_name_fold("caf\xc3\xa9-\xcf\x83-\xd0\xb6");
    ck_assert_str_eq(f, "CAF\xc3\x89-\xce\xa3-\xd0\x96");
    free(f);
    /* Bytes that are not UTF-8 are kept as they are. */
    f = sc_name_fold("a\xff\xc3"
                     "b");
    ck_assert_str_eq(f, "A\xff\xc3"
                        "B");
    free(f);

    sc_nameset s;
    memset(&s, 0, sizeof(s));
    ck_assert_ptr_null(sc_nameset_other(&s, "x"));
    ck_assert(sc_nameset_add(&s, "inc/linux/netfilter/xt_CONNMARK.h"));
    ck_assert(sc_nameset_add(&s, "inc/caf\xc3\xa9"));
    ck_assert_ptr_null(sc_nameset_other(&s, "inc/linux/netfilter/xt_CONNMARK.h"));
    ck_assert_str_eq(sc_nameset_other(&s, "inc/linux/netfilter/xt_connmark.h"),
                     "inc/linux/netfilter/xt_CONNMARK.h");
    ck_assert_str_eq(sc_nameset_other(&s, "INC/CAF\xc3\x89"), "inc/caf\xc3\xa9");
    ck_assert_ptr_null(sc_nameset_other(&s, "inc/linux/netfilter/xt_connmark.c"));
    /* Many names: growth keeps every one findable. */
    char name[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "d/File%d", i);
        ck_assert(sc_nameset_add(&s, name));
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof(name), "D/FILE%d", i);
        const char *o = sc_nameset_other(&s, name);
        ck_assert_ptr_nonnull(o);
        snprintf(name, sizeof(name), "d/File%d", i);
        ck_assert_str_eq(o, name);
    }
    ck_assert(!s.failed);
    sc_nameset_free(&s);
}
END_TEST

/* --json reports the weakest protection of all sessions. */
START_TEST(test_prot_weakest)
{
    ck_assert_int_eq(sc_sign_rank("none"), 0);
    ck_assert_int_lt(sc_sign_rank("HMAC-SHA256"), sc_sign_rank("AES-128-CMAC"));
    ck_assert_int_lt(sc_sign_rank("AES-128-CMAC"), sc_sign_rank("AES-128-GMAC"));
    ck_assert_int_eq(sc_sign_rank("SOMETHING-NEW"), 1);
    ck_assert_int_eq(sc_cipher_rank("none"), 0);
    ck_assert_int_eq(sc_cipher_rank(NULL), 0);
    ck_assert_int_lt(sc_cipher_rank("AES-128-CCM"), sc_cipher_rank("AES-128-GCM"));
    ck_assert_int_lt(sc_cipher_rank("AES-128-GCM"), sc_cipher_rank("AES-256-CCM"));
    ck_assert_int_lt(sc_cipher_rank("AES-256-CCM"), sc_cipher_rank("AES-256-GCM"));

    sc_prot p;
    memset(&p, 0, sizeof(p));
    sc_prot_note(&p, true, "AES-128-GMAC", true, "AES-256-GCM");
    ck_assert_str_eq(p.sign_alg, "AES-128-GMAC");
    ck_assert_str_eq(p.cipher, "AES-256-GCM");
    /* A second, weaker session (e.g. DST on an SMB 3.0 server) wins... */
    sc_prot_note(&p, true, "AES-128-CMAC", true, "AES-128-CCM");
    ck_assert_str_eq(p.sign_alg, "AES-128-CMAC");
    ck_assert_str_eq(p.cipher, "AES-128-CCM");
    /* ...a stronger one does not. */
    sc_prot_note(&p, true, "AES-128-GMAC", true, "AES-256-GCM");
    ck_assert_str_eq(p.sign_alg, "AES-128-CMAC");
    ck_assert_str_eq(p.cipher, "AES-128-CCM");
    ck_assert_int_gt(p.cipher_rank, 0);
    /* One unencrypted session: encryption false, cipher none. */
    sc_prot_note(&p, true, "HMAC-SHA256", false, "none");
    ck_assert_str_eq(p.sign_alg, "HMAC-SHA256");
    ck_assert_str_eq(p.cipher, "none");
    ck_assert_int_eq(p.cipher_rank, 0);
    /* One unsigned session: signing none, and it stays so. */
    sc_prot_note(&p, false, "none", false, "none");
    sc_prot_note(&p, true, "AES-128-GMAC", true, "AES-128-GCM");
    ck_assert_str_eq(p.sign_alg, "none");
    ck_assert_int_eq(p.sign_rank, 0);
    ck_assert_str_eq(p.cipher, "none");
    ck_assert_int_eq(p.nsessions, 6);

    /* The first session sets the values even when it is the weakest kind. */
    memset(&p, 0, sizeof(p));
    sc_prot_note(&p, false, "none", false, "none");
    ck_assert_str_eq(p.sign_alg, "none");
    ck_assert_str_eq(p.cipher, "none");
    /* Encrypted without a cipher name: still reported as encrypted. */
    memset(&p, 0, sizeof(p));
    sc_prot_note(&p, true, "AES-128-CMAC", true, NULL);
    ck_assert_int_gt(p.cipher_rank, 0);
    ck_assert_str_eq(p.cipher, "unknown");
}
END_TEST

START_TEST(test_fmt_bytes)
{
    char b[32];
    sc_fmt_bytes(b, sizeof(b), 512);
    ck_assert_str_eq(b, "512 B");
    sc_fmt_bytes(b, sizeof(b), 1536);
    ck_assert_str_eq(b, "1.5 KiB");
    sc_fmt_bytes(b, sizeof(b), 3.0 * 1024 * 1024 * 1024);
    ck_assert_str_eq(b, "3.0 GiB");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smbcopy");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_opts_basic);
    tcase_add_test(tc, test_opts_errors);
    tcase_add_test(tc, test_help_covers_table);
    tcase_add_test(tc, test_user_arg);
    tcase_add_test(tc, test_auth_file);
    tcase_add_test(tc, test_burn_user_password);
    tcase_add_test(tc, test_burn_url_password);
    tcase_add_test(tc, test_burn_argv);
    tcase_add_test(tc, test_resolve_order);
    tcase_add_test(tc, test_json_escape);
    tcase_add_test(tc, test_summary);
    tcase_add_test(tc, test_nameset);
    tcase_add_test(tc, test_prot_weakest);
    tcase_add_test(tc, test_fmt_bytes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
