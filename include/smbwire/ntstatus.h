/* smbwire — NTSTATUS values (MS-ERREF 2.3) the library names and acts on.
 *
 * The server's status of a failed request is kept beside the SMBW_E* code
 * (smbw_last_status()); compare it with these constants, and name it with
 * smbw_status_name(). SMBW_NTSTATUS_TABLE is the one list: the constants
 * below and smbw_status_name() are generated from it (tests/lint/ntstatus.sh
 * checks the constants and rewrites them with --write).
 */
#ifndef SMBWIRE_NTSTATUS_H
#define SMBWIRE_NTSTATUS_H

/* X(NAME, value): the name as smbw_status_name() gives it, and the value. */
#define SMBW_NTSTATUS_TABLE(X)                                                                     \
    X(STATUS_SUCCESS, 0x00000000u)                                                                 \
    X(STATUS_PENDING, 0x00000103u)                                                                 \
    X(STATUS_NOTIFY_ENUM_DIR, 0x0000010Cu)                                                         \
    X(STATUS_BUFFER_OVERFLOW, 0x80000005u)                                                         \
    X(STATUS_NO_MORE_FILES, 0x80000006u)                                                           \
    X(STATUS_STOPPED_ON_SYMLINK, 0x8000002Du)                                                      \
    X(STATUS_UNSUCCESSFUL, 0xC0000001u)                                                            \
    X(STATUS_NOT_IMPLEMENTED, 0xC0000002u)                                                         \
    X(STATUS_INVALID_INFO_CLASS, 0xC0000003u)                                                      \
    X(STATUS_ACCESS_VIOLATION, 0xC0000005u)                                                        \
    X(STATUS_INVALID_HANDLE, 0xC0000008u)                                                          \
    X(STATUS_INVALID_PARAMETER, 0xC000000Du)                                                       \
    X(STATUS_NO_SUCH_DEVICE, 0xC000000Eu)                                                          \
    X(STATUS_NO_SUCH_FILE, 0xC000000Fu)                                                            \
    X(STATUS_INVALID_DEVICE_REQUEST, 0xC0000010u)                                                  \
    X(STATUS_END_OF_FILE, 0xC0000011u)                                                             \
    X(STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016u)                                                \
    X(STATUS_NO_MEMORY, 0xC0000017u)                                                               \
    X(STATUS_INVALID_VIEW_SIZE, 0xC000001Fu)                                                       \
    X(STATUS_ACCESS_DENIED, 0xC0000022u)                                                           \
    X(STATUS_BUFFER_TOO_SMALL, 0xC0000023u)                                                        \
    X(STATUS_OBJECT_TYPE_MISMATCH, 0xC0000024u)                                                    \
    X(STATUS_OBJECT_NAME_INVALID, 0xC0000033u)                                                     \
    X(STATUS_OBJECT_NAME_NOT_FOUND, 0xC0000034u)                                                   \
    X(STATUS_OBJECT_NAME_COLLISION, 0xC0000035u)                                                   \
    X(STATUS_OBJECT_PATH_INVALID, 0xC0000039u)                                                     \
    X(STATUS_OBJECT_PATH_NOT_FOUND, 0xC000003Au)                                                   \
    X(STATUS_OBJECT_PATH_SYNTAX_BAD, 0xC000003Bu)                                                  \
    X(STATUS_SHARING_VIOLATION, 0xC0000043u)                                                       \
    X(STATUS_QUOTA_EXCEEDED, 0xC0000044u)                                                          \
    X(STATUS_FILE_LOCK_CONFLICT, 0xC0000054u)                                                      \
    X(STATUS_LOCK_NOT_GRANTED, 0xC0000055u)                                                        \
    X(STATUS_DELETE_PENDING, 0xC0000056u)                                                          \
    X(STATUS_PRIVILEGE_NOT_HELD, 0xC0000061u)                                                      \
    X(STATUS_NO_SUCH_USER, 0xC0000064u)                                                            \
    X(STATUS_WRONG_PASSWORD, 0xC000006Au)                                                          \
    X(STATUS_LOGON_FAILURE, 0xC000006Du)                                                           \
    X(STATUS_ACCOUNT_RESTRICTION, 0xC000006Eu)                                                     \
    X(STATUS_PASSWORD_EXPIRED, 0xC0000071u)                                                        \
    X(STATUS_ACCOUNT_DISABLED, 0xC0000072u)                                                        \
    X(STATUS_RANGE_NOT_LOCKED, 0xC000007Eu)                                                        \
    X(STATUS_DISK_FULL, 0xC000007Fu)                                                               \
    X(STATUS_INSUFFICIENT_RESOURCES, 0xC000009Au)                                                  \
    X(STATUS_BAD_TOKEN_TYPE, 0xC00000A8u)                                                          \
    X(STATUS_IO_TIMEOUT, 0xC00000B5u)                                                              \
    X(STATUS_FILE_IS_A_DIRECTORY, 0xC00000BAu)                                                     \
    X(STATUS_NOT_SUPPORTED, 0xC00000BBu)                                                           \
    X(STATUS_DUPLICATE_NAME, 0xC00000BDu)                                                          \
    X(STATUS_INVALID_NETWORK_RESPONSE, 0xC00000C3u)                                                \
    X(STATUS_NETWORK_NAME_DELETED, 0xC00000C9u)                                                    \
    X(STATUS_NETWORK_ACCESS_DENIED, 0xC00000CAu)                                                   \
    X(STATUS_BAD_NETWORK_NAME, 0xC00000CCu)                                                        \
    X(STATUS_REQUEST_NOT_ACCEPTED, 0xC00000D0u)                                                    \
    X(STATUS_DIRECTORY_NOT_EMPTY, 0xC0000101u)                                                     \
    X(STATUS_FILE_CORRUPT_ERROR, 0xC0000102u)                                                      \
    X(STATUS_NOT_A_DIRECTORY, 0xC0000103u)                                                         \
    X(STATUS_CANCELLED, 0xC0000120u)                                                               \
    X(STATUS_CANNOT_DELETE, 0xC0000121u)                                                           \
    X(STATUS_FILE_CLOSED, 0xC0000128u)                                                             \
    X(STATUS_FS_DRIVER_REQUIRED, 0xC000019Cu)                                                      \
    X(STATUS_USER_SESSION_DELETED, 0xC0000203u)                                                    \
    X(STATUS_NOT_FOUND, 0xC0000225u)                                                               \
    X(STATUS_PATH_NOT_COVERED, 0xC0000257u)                                                        \
    X(STATUS_ENCRYPTION_FAILED, 0xC000028Au)                                                       \
    X(STATUS_DECRYPTION_FAILED, 0xC000028Bu)                                                       \
    X(STATUS_NETWORK_SESSION_EXPIRED, 0xC000035Cu)                                                 \
    X(STATUS_INVALID_TOKEN, 0xC0000465u)                                                           \
    X(STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED, 0xC000A2A1u)                                          \
    X(STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED, 0xC000A2A2u)                                         \
    X(STATUS_OFFLOAD_READ_FILE_NOT_SUPPORTED, 0xC000A2A3u)                                         \
    X(STATUS_OFFLOAD_WRITE_FILE_NOT_SUPPORTED, 0xC000A2A4u)

/* Generated from SMBW_NTSTATUS_TABLE: SMBW_<NAME> for each row. */
/* BEGIN GENERATED */
#define SMBW_STATUS_SUCCESS 0x00000000u
#define SMBW_STATUS_PENDING 0x00000103u
#define SMBW_STATUS_NOTIFY_ENUM_DIR 0x0000010Cu
#define SMBW_STATUS_BUFFER_OVERFLOW 0x80000005u
#define SMBW_STATUS_NO_MORE_FILES 0x80000006u
#define SMBW_STATUS_STOPPED_ON_SYMLINK 0x8000002Du
#define SMBW_STATUS_UNSUCCESSFUL 0xC0000001u
#define SMBW_STATUS_NOT_IMPLEMENTED 0xC0000002u
#define SMBW_STATUS_INVALID_INFO_CLASS 0xC0000003u
#define SMBW_STATUS_ACCESS_VIOLATION 0xC0000005u
#define SMBW_STATUS_INVALID_HANDLE 0xC0000008u
#define SMBW_STATUS_INVALID_PARAMETER 0xC000000Du
#define SMBW_STATUS_NO_SUCH_DEVICE 0xC000000Eu
#define SMBW_STATUS_NO_SUCH_FILE 0xC000000Fu
#define SMBW_STATUS_INVALID_DEVICE_REQUEST 0xC0000010u
#define SMBW_STATUS_END_OF_FILE 0xC0000011u
#define SMBW_STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u
#define SMBW_STATUS_NO_MEMORY 0xC0000017u
#define SMBW_STATUS_INVALID_VIEW_SIZE 0xC000001Fu
#define SMBW_STATUS_ACCESS_DENIED 0xC0000022u
#define SMBW_STATUS_BUFFER_TOO_SMALL 0xC0000023u
#define SMBW_STATUS_OBJECT_TYPE_MISMATCH 0xC0000024u
#define SMBW_STATUS_OBJECT_NAME_INVALID 0xC0000033u
#define SMBW_STATUS_OBJECT_NAME_NOT_FOUND 0xC0000034u
#define SMBW_STATUS_OBJECT_NAME_COLLISION 0xC0000035u
#define SMBW_STATUS_OBJECT_PATH_INVALID 0xC0000039u
#define SMBW_STATUS_OBJECT_PATH_NOT_FOUND 0xC000003Au
#define SMBW_STATUS_OBJECT_PATH_SYNTAX_BAD 0xC000003Bu
#define SMBW_STATUS_SHARING_VIOLATION 0xC0000043u
#define SMBW_STATUS_QUOTA_EXCEEDED 0xC0000044u
#define SMBW_STATUS_FILE_LOCK_CONFLICT 0xC0000054u
#define SMBW_STATUS_LOCK_NOT_GRANTED 0xC0000055u
#define SMBW_STATUS_DELETE_PENDING 0xC0000056u
#define SMBW_STATUS_PRIVILEGE_NOT_HELD 0xC0000061u
#define SMBW_STATUS_NO_SUCH_USER 0xC0000064u
#define SMBW_STATUS_WRONG_PASSWORD 0xC000006Au
#define SMBW_STATUS_LOGON_FAILURE 0xC000006Du
#define SMBW_STATUS_ACCOUNT_RESTRICTION 0xC000006Eu
#define SMBW_STATUS_PASSWORD_EXPIRED 0xC0000071u
#define SMBW_STATUS_ACCOUNT_DISABLED 0xC0000072u
#define SMBW_STATUS_RANGE_NOT_LOCKED 0xC000007Eu
#define SMBW_STATUS_DISK_FULL 0xC000007Fu
#define SMBW_STATUS_INSUFFICIENT_RESOURCES 0xC000009Au
#define SMBW_STATUS_BAD_TOKEN_TYPE 0xC00000A8u
#define SMBW_STATUS_IO_TIMEOUT 0xC00000B5u
#define SMBW_STATUS_FILE_IS_A_DIRECTORY 0xC00000BAu
#define SMBW_STATUS_NOT_SUPPORTED 0xC00000BBu
#define SMBW_STATUS_DUPLICATE_NAME 0xC00000BDu
#define SMBW_STATUS_INVALID_NETWORK_RESPONSE 0xC00000C3u
#define SMBW_STATUS_NETWORK_NAME_DELETED 0xC00000C9u
#define SMBW_STATUS_NETWORK_ACCESS_DENIED 0xC00000CAu
#define SMBW_STATUS_BAD_NETWORK_NAME 0xC00000CCu
#define SMBW_STATUS_REQUEST_NOT_ACCEPTED 0xC00000D0u
#define SMBW_STATUS_DIRECTORY_NOT_EMPTY 0xC0000101u
#define SMBW_STATUS_FILE_CORRUPT_ERROR 0xC0000102u
#define SMBW_STATUS_NOT_A_DIRECTORY 0xC0000103u
#define SMBW_STATUS_CANCELLED 0xC0000120u
#define SMBW_STATUS_CANNOT_DELETE 0xC0000121u
#define SMBW_STATUS_FILE_CLOSED 0xC0000128u
#define SMBW_STATUS_FS_DRIVER_REQUIRED 0xC000019Cu
#define SMBW_STATUS_USER_SESSION_DELETED 0xC0000203u
#define SMBW_STATUS_NOT_FOUND 0xC0000225u
#define SMBW_STATUS_PATH_NOT_COVERED 0xC0000257u
#define SMBW_STATUS_ENCRYPTION_FAILED 0xC000028Au
#define SMBW_STATUS_DECRYPTION_FAILED 0xC000028Bu
#define SMBW_STATUS_NETWORK_SESSION_EXPIRED 0xC000035Cu
#define SMBW_STATUS_INVALID_TOKEN 0xC0000465u
#define SMBW_STATUS_OFFLOAD_READ_FLT_NOT_SUPPORTED 0xC000A2A1u
#define SMBW_STATUS_OFFLOAD_WRITE_FLT_NOT_SUPPORTED 0xC000A2A2u
#define SMBW_STATUS_OFFLOAD_READ_FILE_NOT_SUPPORTED 0xC000A2A3u
#define SMBW_STATUS_OFFLOAD_WRITE_FILE_NOT_SUPPORTED 0xC000A2A4u
/* END GENERATED */

#endif
