/* Burning secrets in argv and disabling core dumps: see secrets.h. */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void tool_wipe(void *p, size_t n)
{
    volatile unsigned char *q = p;
    while (n-- > 0)
        *q++ = 0;
}

bool tool_burn_user_password(char *arg)
{
    char *pct = strchr(arg, '%');
    if (pct == NULL)
        return false;
    tool_wipe(pct, strlen(pct));
    return true;
}

bool tool_url_password_span(const char *arg, size_t *colon, size_t *at)
{
    if (strncasecmp(arg, "smb://", 6) != 0)
        return false;
    const char *auth = arg + 6;
    size_t alen = strcspn(auth, "/\\");
    const char *a = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            a = auth + i;
    if (a == NULL)
        return false;
    const char *ui = auth;
    const char *semi = memchr(ui, ';', (size_t)(a - ui));
    if (semi != NULL)
        ui = semi + 1;
    const char *c = memchr(ui, ':', (size_t)(a - ui));
    if (c == NULL)
        return false;
    *colon = (size_t)(c - arg);
    *at = (size_t)(a - arg);
    return true;
}

bool tool_burn_url_password(char *arg)
{
    size_t colon, at;
    if (!tool_url_password_span(arg, &colon, &at))
        return false;
    size_t total = strlen(arg);
    size_t tail = total - at; /* "@HOST..." */
    memmove(arg + colon, arg + at, tail);
    size_t kept = colon + tail;
    tool_wipe(arg + kept, total - kept);
    return true;
}

__attribute__((noinline)) void tool_scrub_stack(void)
{
    unsigned char buf[64 * 1024];
    memset(buf, 0, sizeof(buf));
    /* Keep the stores: the buffer is "used" after the memset. */
    __asm__ volatile("" : : "r"(buf) : "memory");
}

int tool_disable_core_dumps(void)
{
    const char *allow = getenv(TOOL_CORE_DUMPS_ENV);
    if (allow != NULL && strcmp(allow, "1") == 0)
        return 1;
    int rc = 0;
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_CORE, &rl) != 0)
        rc = -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        rc = -1;
    return rc;
}
