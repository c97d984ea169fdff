/* The error table (lib/util/errors.c) and the NTSTATUS table and mapping
 * (lib/util/status.c): every SMBW_E* code has its own name, message and
 * category; every NTSTATUS the library names (lib/util/status.h) has its
 * name, and maps to the documented SMBW_E* code. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/status.h"
#include "smbwire/smbwire.h"

#define ROW_(name, value, cat, msg) {name, #name, msg, cat},
static const struct {
    int code;
    const char *name;
    const char *msg;
    int cat;
} errors[] = {SMBW_ERROR_TABLE(ROW_)};
#undef ROW_
#define NERR (sizeof errors / sizeof errors[0])

START_TEST(test_every_error)
{
    for (size_t i = 0; i < NERR; i++) {
        int e = errors[i].code;
        ck_assert_msg(e == -(int)(i + 1), "%s is %d, codes must run -1, -2, ...", errors[i].name,
                      e);
        ck_assert_str_eq(smbw_error_name(e), errors[i].name);
        ck_assert_str_eq(smbw_strerror(e), errors[i].msg);
        ck_assert_int_eq(smbw_error_category(e), errors[i].cat);
        ck_assert_int_ne(smbw_error_category(e), SMBW_CAT_NONE);
        ck_assert_msg(strlen(smbw_strerror(e)) > 3, "%s: empty message", errors[i].name);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(errors[i].msg, errors[j].msg) != 0, "%s and %s share a message",
                          errors[i].name, errors[j].name);
    }
}
END_TEST

START_TEST(test_success_and_unknown)
{
    ck_assert_str_eq(smbw_error_name(0), "SMBW_OK");
    ck_assert_str_eq(smbw_strerror(0), "success");
    ck_assert_int_eq(smbw_error_category(0), SMBW_CAT_NONE);
    const int unknown[] = {1, 42, -(int)NERR - 1, -1000, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_str_eq(smbw_error_name(unknown[i]), "SMBW_EUNKNOWN");
        ck_assert_str_eq(smbw_strerror(unknown[i]), "unknown error");
        ck_assert_int_eq(smbw_error_category(unknown[i]), SMBW_CAT_USAGE);
    }
}
END_TEST

/* The run-time version is the one the headers name, in MAJOR.MINOR.PATCH. */
START_TEST(test_version)
{
    ck_assert_str_eq(smbw_version(), SMBW_VERSION);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SMBW_VERSION_MAJOR, SMBW_VERSION_MINOR,
             SMBW_VERSION_PATCH);
    ck_assert_str_eq(smbw_version(), want);
}
END_TEST

/* The categories a program acts on: a cancellation is neither a usage error
 * nor an I/O failure; the end of a listing is not a failure at all. */
START_TEST(test_categories)
{
    ck_assert_int_eq(smbw_error_category(SMBW_ECANCELED), SMBW_CAT_CANCELED);
    ck_assert_int_eq(smbw_error_category(SMBW_ENOMORE), SMBW_CAT_END);
    for (size_t i = 0; i < NERR; i++)
        if (errors[i].code != SMBW_ENOMORE)
            ck_assert_msg(errors[i].cat != SMBW_CAT_END, "%s in the END category", errors[i].name);
}
END_TEST

/* Every NTSTATUS of status.h: its name, and the SMBW_E* it maps to. */
static const struct {
    uint32_t code;
    const char *name;
    int err;
} statuses[] = {
    {SMBW_STATUS_SUCCESS, "STATUS_SUCCESS", 0},
    {SMBW_STATUS_PENDING, "STATUS_PENDING", SMBW_ESTATUS},
    {SMBW_STATUS_NOTIFY_ENUM_DIR, "STATUS_NOTIFY_ENUM_DIR", SMBW_ESTATUS},
    {SMBW_STATUS_BUFFER_OVERFLOW, "STATUS_BUFFER_OVERFLOW", SMBW_ESTATUS},
    {SMBW_STATUS_NO_MORE_FILES, "STATUS_NO_MORE_FILES", SMBW_ESTATUS},
    {SMBW_STATUS_STOPPED_ON_SYMLINK, "STATUS_STOPPED_ON_SYMLINK", SMBW_ESTATUS},
    {SMBW_STATUS_UNSUCCESSFUL, "STATUS_UNSUCCESSFUL", SMBW_ESTATUS},
    {SMBW_STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED", SMBW_ENOTSUP},
    {SMBW_STATUS_INVALID_INFO_CLASS, "STATUS_INVALID_INFO_CLASS", SMBW_ESTATUS},
    {SMBW_STATUS_INVALID_HANDLE, "STATUS_INVALID_HANDLE", SMBW_ESTATUS},
    {SMBW_STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER", SMBW_ESTATUS},
    {SMBW_STATUS_NO_SUCH_DEVICE, "STATUS_NO_SUCH_DEVICE", SMBW_ESTATUS},
    {SMBW_STATUS_NO_SUCH_FILE, "STATUS_NO_SUCH_FILE", SMBW_ENOENT},
    {SMBW_STATUS_INVALID_DEVICE_REQUEST, "STATUS_INVALID_DEVICE_REQUEST", SMBW_ENOTSUP},
    {SMBW_STATUS_END_OF_FILE, "STATUS_END_OF_FILE", SMBW_ESTATUS},
    {SMBW_STATUS_MORE_PROCESSING_REQUIRED, "STATUS_MORE_PROCESSING_REQUIRED", SMBW_ESTATUS},
    {SMBW_STATUS_NO_MEMORY, "STATUS_NO_MEMORY", SMBW_ESTATUS},
    {SMBW_STATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED", SMBW_EACCES},
    {SMBW_STATUS_BUFFER_TOO_SMALL, "STATUS_BUFFER_TOO_SMALL", SMBW_ESTATUS},
    {SMBW_STATUS_OBJECT_TYPE_MISMATCH, "STATUS_OBJECT_TYPE_MISMATCH", SMBW_ESTATUS},
    {SMBW_STATUS_OBJECT_NAME_INVALID, "STATUS_OBJECT_NAME_INVALID", SMBW_ESTATUS},
    {SMBW_STATUS_OBJECT_NAME_NOT_FOUND, "STATUS_OBJECT_NAME_NOT_FOUND", SMBW_ENOENT},
    {SMBW_STATUS_OBJECT_NAME_COLLISION, "STATUS_OBJECT_NAME_COLLISION", SMBW_EEXIST},
    {SMBW_STATUS_OBJECT_PATH_INVALID, "STATUS_OBJECT_PATH_INVALID", SMBW_ESTATUS},
    {SMBW_STATUS_OBJECT_PATH_NOT_FOUND, "STATUS_OBJECT_PATH_NOT_FOUND", SMBW_ENOENT},
    {SMBW_STATUS_OBJECT_PATH_SYNTAX_BAD, "STATUS_OBJECT_PATH_SYNTAX_BAD", SMBW_ESTATUS},
    {SMBW_STATUS_SHARING_VIOLATION, "STATUS_SHARING_VIOLATION", SMBW_EACCES},
    {SMBW_STATUS_DELETE_PENDING, "STATUS_DELETE_PENDING", SMBW_EACCES},
    {SMBW_STATUS_PRIVILEGE_NOT_HELD, "STATUS_PRIVILEGE_NOT_HELD", SMBW_EACCES},
    {SMBW_STATUS_LOGON_FAILURE, "STATUS_LOGON_FAILURE", SMBW_EAUTH},
    {SMBW_STATUS_ACCOUNT_RESTRICTION, "STATUS_ACCOUNT_RESTRICTION", SMBW_EAUTH},
    {SMBW_STATUS_PASSWORD_EXPIRED, "STATUS_PASSWORD_EXPIRED", SMBW_EAUTH},
    {SMBW_STATUS_ACCOUNT_DISABLED, "STATUS_ACCOUNT_DISABLED", SMBW_EAUTH},
    {SMBW_STATUS_INSUFFICIENT_RESOURCES, "STATUS_INSUFFICIENT_RESOURCES", SMBW_ESTATUS},
    {SMBW_STATUS_FILE_IS_A_DIRECTORY, "STATUS_FILE_IS_A_DIRECTORY", SMBW_EISDIR},
    {SMBW_STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED", SMBW_ENOTSUP},
    {SMBW_STATUS_NETWORK_NAME_DELETED, "STATUS_NETWORK_NAME_DELETED", SMBW_ESTATUS},
    {SMBW_STATUS_NETWORK_ACCESS_DENIED, "STATUS_NETWORK_ACCESS_DENIED", SMBW_EACCES},
    {SMBW_STATUS_BAD_NETWORK_NAME, "STATUS_BAD_NETWORK_NAME", SMBW_ESTATUS},
    {SMBW_STATUS_REQUEST_NOT_ACCEPTED, "STATUS_REQUEST_NOT_ACCEPTED", SMBW_ESTATUS},
    {SMBW_STATUS_DIRECTORY_NOT_EMPTY, "STATUS_DIRECTORY_NOT_EMPTY", SMBW_ENOTEMPTY},
    {SMBW_STATUS_NOT_A_DIRECTORY, "STATUS_NOT_A_DIRECTORY", SMBW_ENOTDIR},
    {SMBW_STATUS_CANCELLED, "STATUS_CANCELLED", SMBW_ECANCELED},
    {SMBW_STATUS_CANNOT_DELETE, "STATUS_CANNOT_DELETE", SMBW_EACCES},
    {SMBW_STATUS_FILE_CLOSED, "STATUS_FILE_CLOSED", SMBW_ESTATUS},
    {SMBW_STATUS_INVALID_VIEW_SIZE, "STATUS_INVALID_VIEW_SIZE", SMBW_ESTATUS},
    {SMBW_STATUS_DISK_FULL, "STATUS_DISK_FULL", SMBW_ENOSPC},
    {SMBW_STATUS_USER_SESSION_DELETED, "STATUS_USER_SESSION_DELETED", SMBW_ESTATUS},
    {SMBW_STATUS_NETWORK_SESSION_EXPIRED, "STATUS_NETWORK_SESSION_EXPIRED", SMBW_ESTATUS},
    {SMBW_STATUS_INVALID_NETWORK_RESPONSE, "STATUS_INVALID_NETWORK_RESPONSE", SMBW_ESTATUS},
    {SMBW_STATUS_BAD_TOKEN_TYPE, "STATUS_BAD_TOKEN_TYPE", SMBW_EAUTH},
    {SMBW_STATUS_NOT_FOUND, "STATUS_NOT_FOUND", SMBW_ENOENT},
    {SMBW_STATUS_IO_TIMEOUT, "STATUS_IO_TIMEOUT", SMBW_ETIMEDOUT},
    {SMBW_STATUS_FILE_CORRUPT_ERROR, "STATUS_FILE_CORRUPT_ERROR", SMBW_ESTATUS},
    {SMBW_STATUS_QUOTA_EXCEEDED, "STATUS_QUOTA_EXCEEDED", SMBW_ENOSPC},
    {SMBW_STATUS_DUPLICATE_NAME, "STATUS_DUPLICATE_NAME", SMBW_ESTATUS},
    {SMBW_STATUS_WRONG_PASSWORD, "STATUS_WRONG_PASSWORD", SMBW_EAUTH},
    {SMBW_STATUS_NO_SUCH_USER, "STATUS_NO_SUCH_USER", SMBW_EAUTH},
    {SMBW_STATUS_ENCRYPTION_FAILED, "STATUS_ENCRYPTION_FAILED", SMBW_ESTATUS},
    {SMBW_STATUS_DECRYPTION_FAILED, "STATUS_DECRYPTION_FAILED", SMBW_ESTATUS},
    {SMBW_STATUS_ACCESS_VIOLATION, "STATUS_ACCESS_VIOLATION", SMBW_ESTATUS},
};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

START_TEST(test_status_names)
{
    for (size_t i = 0; i < NSTATUS; i++) {
        ck_assert_str_eq(smbw_status_name(statuses[i].code), statuses[i].name);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(statuses[i].code != statuses[j].code, "%s and %s share a value",
                          statuses[i].name, statuses[j].name);
    }
    ck_assert_str_eq(smbw_status_name(0xC0FFEE00u), "STATUS_UNKNOWN");
    ck_assert_str_eq(smbw_status_name(0xFFFFFFFFu), "STATUS_UNKNOWN");
}
END_TEST

START_TEST(test_status_mapping)
{
    for (size_t i = 0; i < NSTATUS; i++)
        ck_assert_msg(smbw_status_to_error(statuses[i].code) == statuses[i].err,
                      "%s -> %s, want %s", statuses[i].name,
                      smbw_error_name(smbw_status_to_error(statuses[i].code)),
                      smbw_error_name(statuses[i].err));
    /* A status nobody listed is a generic server error, never success. */
    ck_assert_int_eq(smbw_status_to_error(0xC0FFEE00u), SMBW_ESTATUS);
    ck_assert_int_eq(smbw_status_to_error(0x00000001u), SMBW_ESTATUS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_every_error);
    tcase_add_test(tc, test_success_and_unknown);
    tcase_add_test(tc, test_categories);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_status_mapping);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
