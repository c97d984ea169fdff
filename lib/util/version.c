/* The library's version at run time. */
#include "smbwire/smbwire.h"

const char *smbw_version(void)
{
    return SMBW_VERSION;
}
