/* NTSTATUS names and the NTSTATUS -> SMBW_E* mapping. */
#include "status.h"

#include "smbwire/smbwire.h"

#define ROW_(name, value) {value, #name},
static const struct {
    uint32_t code;
    const char *name;
} status_table[] = {SMBW_NTSTATUS_TABLE(ROW_)};
#undef ROW_

const char *smbw_status_name(uint32_t status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].code == status)
            return status_table[i].name;
    return "STATUS_UNKNOWN";
}

int smbw_status_to_error(uint32_t s)
{
    switch (s) {
    case SMBW_STATUS_SUCCESS:
        return 0;
    case SMBW_STATUS_NO_SUCH_FILE:
    case SMBW_STATUS_OBJECT_NAME_NOT_FOUND:
    case SMBW_STATUS_OBJECT_PATH_NOT_FOUND:
    case SMBW_STATUS_NOT_FOUND:
        return SMBW_ENOENT;
    case SMBW_STATUS_OBJECT_NAME_COLLISION:
        return SMBW_EEXIST;
    case SMBW_STATUS_ACCESS_DENIED:
    case SMBW_STATUS_NETWORK_ACCESS_DENIED:
    case SMBW_STATUS_PRIVILEGE_NOT_HELD:
    case SMBW_STATUS_CANNOT_DELETE:
    case SMBW_STATUS_SHARING_VIOLATION:
    case SMBW_STATUS_DELETE_PENDING:
        return SMBW_EACCES;
    case SMBW_STATUS_DISK_FULL:
    case SMBW_STATUS_QUOTA_EXCEEDED:
        return SMBW_ENOSPC;
    case SMBW_STATUS_NOT_A_DIRECTORY:
        return SMBW_ENOTDIR;
    case SMBW_STATUS_FILE_IS_A_DIRECTORY:
        return SMBW_EISDIR;
    case SMBW_STATUS_DIRECTORY_NOT_EMPTY:
        return SMBW_ENOTEMPTY;
    case SMBW_STATUS_LOGON_FAILURE:
    case SMBW_STATUS_ACCOUNT_RESTRICTION:
    case SMBW_STATUS_PASSWORD_EXPIRED:
    case SMBW_STATUS_ACCOUNT_DISABLED:
    case SMBW_STATUS_WRONG_PASSWORD:
    case SMBW_STATUS_NO_SUCH_USER:
    case SMBW_STATUS_BAD_TOKEN_TYPE:
        return SMBW_EAUTH;
    case SMBW_STATUS_NOT_SUPPORTED:
    case SMBW_STATUS_NOT_IMPLEMENTED:
    case SMBW_STATUS_INVALID_DEVICE_REQUEST:
        return SMBW_ENOTSUP;
    case SMBW_STATUS_CANCELLED:
        return SMBW_ECANCELED;
    case SMBW_STATUS_IO_TIMEOUT:
        return SMBW_ETIMEDOUT;
    default:
        return SMBW_ESTATUS;
    }
}
