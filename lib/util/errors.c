/* The error table: names, messages and categories of SMBW_E* codes. */
#include "smbwire/smbwire.h"

#define ROW_(name, value, cat, msg) {value, #name, msg, cat},
static const struct {
    int code;
    const char *name;
    const char *msg;
    enum smbw_error_category cat;
} err_table[] = {SMBW_ERROR_TABLE(ROW_)};
#undef ROW_

static int find(int err)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == err)
            return (int)i;
    return -1;
}

const char *smbw_strerror(int err)
{
    if (err == 0)
        return "success";
    int i = find(err);
    return i < 0 ? "unknown error" : err_table[i].msg;
}

const char *smbw_error_name(int err)
{
    if (err == 0)
        return "SMBW_OK";
    int i = find(err);
    return i < 0 ? "SMBW_EUNKNOWN" : err_table[i].name;
}

enum smbw_error_category smbw_error_category(int err)
{
    if (err == 0)
        return SMBW_CAT_NONE;
    int i = find(err);
    return i < 0 ? SMBW_CAT_USAGE : err_table[i].cat;
}
