// The Age header (RFC 9111 section 5.1) for answers the edge took from its
// store. nginx sends none, and its configuration language has no arithmetic.
//
// The age is the time since the stored response's Date plus any Age the
// origin sent (section 4.2.3, with the response time taken as its Date on
// loopback). A response fetched or validated by the origin for this request
// gets no Age: its presence says that the origin did not (section 5.1).
//
// nginx 1.22 keeps the first response's headers when a 304 revalidates a
// stored copy, so after a revalidation the age still counts from the first
// fetch.

var FROM_STORE = {HIT: true, STALE: true, UPDATING: true};

function age(r) {
    if (!FROM_STORE[r.variables.upstream_cache_status]) {
        return "";
    }
    var date = Date.parse(r.variables.upstream_http_date || "");
    if (isNaN(date)) {
        return "";
    }
    var resident = Math.max(0, Math.floor((Date.now() - date) / 1000));
    var earlier = parseInt(r.variables.upstream_http_age || "0", 10) || 0;
    return String(resident + earlier);
}

export default {age};
