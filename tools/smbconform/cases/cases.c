/* The areas of cases in run order; each lives in a file of its own here. */
#include "../smbconform.h"

const cf_case *const cf_areas[] = {
    cf_cases_resume_key,        //
    cf_cases_copychunk,         //
    cf_cases_copychunk_ranges,  //
    cf_cases_copychunk_handles, //
    cf_cases_odx,               //
    cf_cases_clone,             //
    cf_cases_negotiate,         //
    cf_cases_transport,         //
    NULL,
};

size_t cf_all_cases(const cf_case **out, size_t max)
{
    size_t n = 0;
    for (size_t a = 0; cf_areas[a] != NULL; a++)
        for (const cf_case *c = cf_areas[a]; c->name != NULL; c++) {
            if (out != NULL && n < max)
                out[n] = c;
            n++;
        }
    return n;
}
