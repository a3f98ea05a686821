/* mod_devprov_enrol.c - DevprovEnrol: the first certificate of an
 * allowlisted phone that no CA verifies, recorded for the admin to pin.
 *
 * Licensed under the Apache License, Version 2.0.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_file_io.h"
#include "apr_strings.h"

#include "mod_devprov_private.h"
#include "src/dp_enrol.h"
#include "src/dp_hex.h"
#include "src/dp_mac.h"

APLOG_USE_MODULE(devprov);

/* See mod_devprov_private.h (dp_verdict_enrol_mac finds the MAC). */
const char *devprov_enrol(request_rec *r, const devprov_srv_t *sc,
                          dp_lookup_fn lookup, void *source,
                          const dp_verdict_t *vd, X509 *leaf)
{
    const dp_vendor_t *const *v =
        (const dp_vendor_t *const *)sc->vendor_ptrs->elts;
    const dp_identity_t *id = &vd->id;
    apr_file_t *f = NULL;
    apr_finfo_t fi;
    apr_status_t rv;
    dp_mac_t mac;
    char *buf, line[256], when[APR_RFC822_DATE_LEN], fp[65];
    const char *outcome = NULL;
    char m[DP_MAC_STRLEN + 1];
    apr_size_t n;
    int i;

    i = dp_verdict_enrol_mac(v, (size_t)sc->vendor_ptrs->nelts, vd, leaf,
                             lookup, source, &mac);
    if (i < 0)
        return NULL;
    dp_mac_format(&mac, m);
    rv = apr_file_open(&f, sc->enrol_path, APR_FOPEN_READ | APR_FOPEN_WRITE
                       | APR_FOPEN_APPEND | APR_FOPEN_CREATE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD,
                       r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "devprov: DevprovEnrol %s: cannot open it to record %s",
                      sc->enrol_path, m);
        return "error";
    }
    rv = apr_file_lock(f, APR_FLOCK_EXCLUSIVE);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size > 16 * 1024 * 1024) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "devprov: DevprovEnrol %s: cannot record %s (lock, "
                      "stat or size over 16 MiB)", sc->enrol_path, m);
        apr_file_close(f);              /* also releases the lock */
        return "error";
    }
    buf = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    n = (apr_size_t)fi.size;
    if (n > 0 && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS)
        n = 0;
    dp_hex_sha256(id->sha256, fp);
    switch (dp_enrol_find(buf, n, &mac, id->sha256)) {
    case DP_ENROL_SAME:
        outcome = "pending";
        break;
    case DP_ENROL_OTHER:
        outcome = "conflict";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "devprov: DevprovEnrol: %s presented another "
                      "certificate (sha256 %s) than the one recorded in %s: "
                      "not recorded; check the phone", m, fp,
                      sc->enrol_path);
        break;
    case DP_ENROL_ABSENT:
        apr_rfc822_date(when, apr_time_now());
        n = dp_enrol_line(line, sizeof(line), &mac, id->sha256, when,
                          v[i]->name);
        if (n > 0 && apr_file_write_full(f, line, n, NULL) == APR_SUCCESS) {
            outcome = "recorded";
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "devprov: DevprovEnrol: recorded %s for review in "
                          "%s; approve by adding its pin=sha256:... to the "
                          "allowlist", m, sc->enrol_path);
        }
        else {
            outcome = "error";
        }
        break;
    }
    apr_file_unlock(f);
    apr_file_close(f);
    return outcome;
}
