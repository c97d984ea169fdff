/* Credentials shared by the command-line tools: see creds.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "secrets.h"
#include "creds.h"

#define AUTH_FILE_MAX (64 * 1024)

static void free_secret(char *s)
{
    if (s != NULL) {
        tool_wipe(s, strlen(s));
        free(s);
    }
}

void tool_creds_clear(tool_creds *c)
{
    free(c->domain);
    free(c->user);
    free_secret(c->password);
    c->domain = c->user = c->password = NULL;
}

int tool_parse_user_arg(const char *arg, tool_creds *out)
{
    memset(out, 0, sizeof(*out));
    const char *pct = strchr(arg, '%');
    size_t ulen = pct != NULL ? (size_t)(pct - arg) : strlen(arg);
    const char *user = arg;
    const char *sep = NULL;
    for (size_t i = 0; i < ulen; i++)
        if (arg[i] == '\\' || arg[i] == '/') {
            sep = arg + i;
            break;
        }
    if (sep != NULL) {
        if (sep > arg) {
            out->domain = strndup(arg, (size_t)(sep - arg));
            if (out->domain == NULL)
                goto nomem;
        }
        user = sep + 1;
        ulen -= (size_t)(user - arg);
    }
    if (ulen == 0) {
        tool_creds_clear(out);
        return -1;
    }
    out->user = strndup(user, ulen);
    if (out->user == NULL)
        goto nomem;
    if (pct != NULL) {
        out->password = strdup(pct + 1);
        if (out->password == NULL)
            goto nomem;
    }
    return 0;
nomem:
    tool_creds_clear(out);
    return -1;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

int tool_parse_auth_text(const char *text, size_t len, tool_creds *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = -1;
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "contains a NUL byte");
        goto out;
    }
    char *line = copy;
    for (int lineno = 1; line != NULL && *line != '\0'; lineno++) {
        char *nl = strchr(line, '\n');
        char *end = nl != NULL ? nl : line + strlen(line);
        char *next = nl != NULL ? nl + 1 : NULL;
        char *l = trim(line, end);
        line = next;
        if (*l == '\0' || *l == '#' || *l == ';')
            continue;
        char *eq = strchr(l, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "line %d: expected 'key = value'", lineno);
            goto out;
        }
        char *key = trim(l, eq);
        char *val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        char **slot;
        if (strcasecmp(key, "username") == 0)
            slot = &out->user;
        else if (strcasecmp(key, "password") == 0)
            slot = &out->password;
        else if (strcasecmp(key, "domain") == 0 || strcasecmp(key, "workgroup") == 0)
            slot = &out->domain;
        else {
            snprintf(err, errlen, "line %d: unknown key '%.40s'", lineno, key);
            goto out;
        }
        if (slot == &out->password)
            free_secret(*slot);
        else
            free(*slot);
        *slot = strdup(val);
        if (*slot == NULL) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    /* smbclient accepts DOMAIN\user in the username line too. */
    if (out->user != NULL) {
        char *bs = strpbrk(out->user, "\\/");
        if (bs != NULL && bs > out->user && bs[1] != '\0' && out->domain == NULL) {
            out->domain = strndup(out->user, (size_t)(bs - out->user));
            char *u = strdup(bs + 1);
            if (out->domain == NULL || u == NULL) {
                free(u);
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            free(out->user);
            out->user = u;
        }
        if (out->user[0] == '\0') {
            free(out->user);
            out->user = NULL;
        }
    }
    if (out->domain != NULL && out->domain[0] == '\0') {
        free(out->domain);
        out->domain = NULL;
    }
    rc = 0;
out:
    tool_wipe(copy, len);
    free(copy);
    if (rc != 0)
        tool_creds_clear(out);
    return rc;
}

int tool_parse_auth_file(const char *path, tool_creds *out, unsigned *mode, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    *mode = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open it: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        close(fd);
        return -1;
    }
    *mode = (unsigned)(st.st_mode & 07777);
    if (st.st_size > AUTH_FILE_MAX) {
        snprintf(err, errlen, "too large (over %d bytes)", AUTH_FILE_MAX);
        close(fd);
        return -1;
    }
    char *buf = malloc(AUTH_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, AUTH_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > AUTH_FILE_MAX) {
            snprintf(err, errlen, "too large (over %d bytes)", AUTH_FILE_MAX);
            goto fail;
        }
    }
    close(fd);
    int rc = tool_parse_auth_text(buf, len, out, err, errlen);
    tool_wipe(buf, len);
    free(buf);
    return rc;
fail:
    close(fd);
    tool_wipe(buf, len);
    free(buf);
    return -1;
}

static int dup_first(char **dst, const char *a, const char *b, const char *c, const char *d)
{
    const char *v = a != NULL ? a : b != NULL ? b : c != NULL ? c : d;
    *dst = NULL;
    if (v == NULL)
        return 0;
    *dst = strdup(v);
    return *dst == NULL ? SMBW_ENOMEM : 0;
}

int tool_resolve_creds(const tool_creds *cli, const smbw_url *url, const tool_creds *file,
                       const char *password_env, const char *user_env, tool_creds *out)
{
    memset(out, 0, sizeof(*out));
    const char *env_user = user_env != NULL && user_env[0] != '\0' ? user_env : NULL;
    if (dup_first(&out->user, cli != NULL ? cli->user : NULL, url != NULL ? url->user : NULL,
                  file != NULL ? file->user : NULL, env_user) != 0 ||
        dup_first(&out->password, cli != NULL ? cli->password : NULL,
                  url != NULL ? url->password : NULL, file != NULL ? file->password : NULL,
                  password_env) != 0 ||
        dup_first(&out->domain, cli != NULL ? cli->domain : NULL, url != NULL ? url->domain : NULL,
                  file != NULL ? file->domain : NULL, NULL) != 0) {
        tool_creds_clear(out);
        return SMBW_ENOMEM;
    }
    return 0;
}

int tool_prompt_password(const char *prompt, char **out, const volatile sig_atomic_t *interrupted)
{
    *out = NULL;
    if (!isatty(STDIN_FILENO))
        return 1;
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return 1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) != 0)
        return -1;
    char buf[512];
    size_t len = 0;
    int rc = 0;
    for (;;) {
        char ch;
        ssize_t n = read(STDIN_FILENO, &ch, 1);
        if (n < 0 && errno == EINTR && !(interrupted != NULL && *interrupted))
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        if (ch == '\n' || ch == '\r')
            break;
        if (len + 1 >= sizeof(buf)) {
            rc = -1;
            break;
        }
        buf[len++] = ch;
    }
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fputc('\n', stderr);
    if (rc == 0) {
        buf[len] = '\0';
        *out = strdup(buf);
        if (*out == NULL)
            rc = -1;
    }
    tool_wipe(buf, sizeof(buf));
    return rc;
}
