/* smbwire error codes. Every smbwire function that can fail returns 0 on
 * success or one of these negative codes. The server's NTSTATUS, when there
 * was one, is kept separately (smbw_last_status()). */
#ifndef SMBWIRE_ERRORS_H
#define SMBWIRE_ERRORS_H

/* X(name, value, category, message) */
#define SMBW_ERROR_TABLE(X)                                                                        \
    X(SMBW_EINVAL, -1, SMBW_CAT_USAGE, "invalid argument")                                         \
    X(SMBW_ENOMEM, -2, SMBW_CAT_NOMEM, "out of memory")                                            \
    X(SMBW_EIO, -3, SMBW_CAT_IO, "network I/O error")                                              \
    X(SMBW_ECONNREFUSED, -4, SMBW_CAT_IO, "connection refused")                                    \
    X(SMBW_ERESOLVE, -5, SMBW_CAT_IO, "host name could not be resolved")                           \
    X(SMBW_ECLOSED, -6, SMBW_CAT_IO, "connection closed by the server")                            \
    X(SMBW_ETIMEDOUT, -7, SMBW_CAT_TIMEOUT, "timed out")                                           \
    X(SMBW_EPROTO, -8, SMBW_CAT_PROTOCOL, "protocol violation by the server")                      \
    X(SMBW_ENOTSUP, -9, SMBW_CAT_PROTOCOL, "not supported")                                        \
    X(SMBW_EDIALECT, -10, SMBW_CAT_PROTOCOL, "no common dialect")                                  \
    X(SMBW_EAUTH, -11, SMBW_CAT_AUTH, "authentication failed")                                     \
    X(SMBW_EKRB5, -12, SMBW_CAT_AUTH, "Kerberos error")                                            \
    X(SMBW_ECRYPTO, -13, SMBW_CAT_CRYPTO, "signature or decryption check failed")                  \
    X(SMBW_ESTATUS, -14, SMBW_CAT_STATUS, "the server returned an error status")                   \
    X(SMBW_ENOENT, -15, SMBW_CAT_STATUS, "no such file or directory")                              \
    X(SMBW_EEXIST, -16, SMBW_CAT_STATUS, "file exists")                                            \
    X(SMBW_EACCES, -17, SMBW_CAT_STATUS, "access denied")                                          \
    X(SMBW_ENOSPC, -18, SMBW_CAT_STATUS, "no space left on the server")                            \
    X(SMBW_ENOTDIR, -19, SMBW_CAT_STATUS, "not a directory")                                       \
    X(SMBW_EISDIR, -20, SMBW_CAT_STATUS, "is a directory")                                         \
    X(SMBW_ENOTEMPTY, -21, SMBW_CAT_STATUS, "directory not empty")                                 \
    X(SMBW_ECANCELED, -22, SMBW_CAT_CANCELED, "operation canceled")                                \
    X(SMBW_EDEAD, -23, SMBW_CAT_IO, "connection is dead after an earlier fatal error")             \
    X(SMBW_EPOLICY, -24, SMBW_CAT_USAGE, "the server cannot meet the required protection")         \
    X(SMBW_EBUSY, -25, SMBW_CAT_USAGE, "object busy (requests still pending)")                     \
    X(SMBW_ELOCAL, -26, SMBW_CAT_IO, "local file error")                                           \
    X(SMBW_ENOMORE, -27, SMBW_CAT_END, "no more entries")                                          \
    X(SMBW_ELOOP, -28, SMBW_CAT_PROTOCOL, "too many DFS referrals (a referral loop?)")

#define SMBW_ERR_ENUM_(name, value, cat, msg) name = value,
enum smbw_error { SMBW_OK = 0, SMBW_ERROR_TABLE(SMBW_ERR_ENUM_) };
#undef SMBW_ERR_ENUM_

enum smbw_error_category {
    SMBW_CAT_NONE = 0,
    SMBW_CAT_USAGE,
    SMBW_CAT_IO,
    SMBW_CAT_TIMEOUT,
    SMBW_CAT_PROTOCOL,
    SMBW_CAT_AUTH,
    SMBW_CAT_CRYPTO,
    SMBW_CAT_STATUS,
    SMBW_CAT_NOMEM,
    /* Stopped on request: a progress callback's answer, the interrupt check
     * (smbw_conn_set_interrupt), SMB2 CANCEL, a freed connection. */
    SMBW_CAT_CANCELED,
    /* Not a failure: the end of a listing (SMBW_ENOMORE from smbw_dir_next). */
    SMBW_CAT_END,
};

#endif
