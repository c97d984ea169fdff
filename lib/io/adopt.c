/* Adopting an already-connected socket (see adopt.h). */
#include "adopt.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int io_adopt_fd(smbw_conn *c, int fd, const char *host)
{
    if (!c || fd < 0 || !host || !*host || c->fd >= 0 || c->dialect)
        return SMBW_EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return SMBW_EINVAL;
    char *h = strdup(host);
    if (!h)
        return SMBW_ENOMEM;
    free(c->host);
    c->host = h;
    c->port = 445;
    c->fd = fd;
    return 0;
}

int io_adopt_pump(smbw_conn *c, const char *host, int (*pump)(smbw_conn *c, void *ud), void *ud)
{
    if (!c || !pump || !host || !*host || c->fd >= 0 || c->pump || c->dialect)
        return SMBW_EINVAL;
    char *h = strdup(host);
    if (!h)
        return SMBW_ENOMEM;
    free(c->host);
    c->host = h;
    c->port = 445;
    c->pump = pump;
    c->pump_ud = ud;
    return 0;
}
