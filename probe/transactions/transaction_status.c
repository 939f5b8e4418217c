/*
 * transaction_status: the status table (HAProxy check_statuses[]). Descriptions use
 * the words of the seeds (Lync "Receive and Publish Certificate", Intune SCEP
 * delivery); actions say where a person looks next.
 */
#include "transactions/transaction_status.h"

#include <string.h>

#include <stddef.h>

/*
 * Indexed by the fixed numbers of enum txn_status (a gap stays NULL and reads as
 * probe_internal). clang-format would align every continuation after its brace and
 * split the longer rows; the hanging indent keeps one row readable as one entry.
 */
/* clang-format off */
static const struct txn_status_info txn_status_table[] = {
	[TXN_OK] = {RESULT_OK, "ok", "transaction completed", "none"},

	[TXN_PROBE_INTERNAL] = {RESULT_UNKNOWN, "probe_internal", "internal probe error",
		"run with -v and report the trace; the target was not judged"},
	[TXN_PROBE_SECRET_UNAVAILABLE] = {RESULT_UNKNOWN, "probe_secret_unavailable",
		"the challenge password or credential could not be read",
		"check the file or environment variable named in the configuration"},
	[TXN_PROBE_KEY_FAILED] = {RESULT_UNKNOWN, "probe_key_failed",
		"the probe could not create or load its key",
		"check the key settings and the state directory"},
	[TXN_PROBE_STATE_WRITE] = {RESULT_UNKNOWN, "probe_state_write",
		"the probe could not save the issued certificate and key in its state directory",
		"the probe's own disk, not the CA: check that state_dir exists, is writable by the "
		"probe user and is not full or read-only"},

	[TXN_TIMEOUT] = {RESULT_CRITICAL, "timeout",
		"no complete answer before the transaction deadline",
		"the service accepted the connection but did not answer in time: check the web "
		"server (IIS app pool for NDES) and the CA behind it, or the registrar and its "
		"back end"},
	[TXN_DNS_NO_ANSWER] = {RESULT_CRITICAL, "dns_no_answer",
		"discovery got no answer: the service name did not resolve",
		"check the DNS record of the enrollment URL or registrar from the monitoring host"},
	[TXN_TCP_REFUSED] = {RESULT_CRITICAL, "tcp_refused",
		"connection refused: nothing listens on the service's port",
		"check that the service (IIS/NDES, SCEP server, registrar) is running and bound to "
		"that port"},
	[TXN_TCP_UNREACHABLE] = {RESULT_CRITICAL, "tcp_unreachable",
		"the server could not be reached (no route or connect timeout)",
		"check routing, firewalls and load balancer health for the service address"},
	[TXN_TCP_ERROR] = {RESULT_CRITICAL, "tcp_error",
		"the connection failed or was reset",
		"check the service and anything between (proxy, load balancer)"},
	[TXN_TLS_HANDSHAKE] = {RESULT_CRITICAL, "tls_handshake",
		"the TLS handshake with the server failed",
		"check the server's TLS configuration (protocols, ciphers, certificate binding)"},
	[TXN_TLS_CHAIN_INCOMPLETE] = {RESULT_CRITICAL, "tls_chain_incomplete",
		"cannot verify the server certificate: the server did not send the full chain to "
		"a trusted root",
		"install the intermediate CA certificates on the server (web server, registrar TLS "
		"listener) so devices can build a path of trust to a root they ship with"},
	[TXN_TLS_UNTRUSTED_ROOT] = {RESULT_CRITICAL, "tls_untrusted_root",
		"cannot verify the server certificate: it chains to a root devices do not trust",
		"issue the server certificate from a CA that chains to a root in the device trust "
		"store, or deploy that root to devices first"},
	[TXN_TLS_CERT_EXPIRED] = {RESULT_CRITICAL, "tls_cert_expired",
		"the server certificate (or one in its chain) has expired",
		"renew the server certificate and rebind it (or check the probe's clock)"},
	[TXN_TLS_CERT_NOT_YET_VALID] = {RESULT_CRITICAL, "tls_cert_not_yet_valid",
		"the server certificate is not yet valid",
		"check the clocks of the CA, the web server and the monitoring host"},
	[TXN_TLS_NAME_MISMATCH] = {RESULT_CRITICAL, "tls_name_mismatch",
		"the server certificate does not name the host devices connect to",
		"add the published FQDN (the one DNS/DHCP hands to devices) to the certificate's "
		"subjectAltName"},
	[TXN_TLS_VERIFY_FAILED] = {RESULT_CRITICAL, "tls_verify_failed",
		"cannot verify the server certificate",
		"run with -v to see the verification error and check the server chain"},
	[TXN_HTTP_PROTOCOL] = {RESULT_CRITICAL, "http_protocol",
		"the server's answer was not valid HTTP",
		"check that the URL points at a web server and not another service"},
	[TXN_HTTP_NOT_FOUND] = {RESULT_CRITICAL, "http_not_found",
		"HTTP 404: the enrollment URL does not exist on the server",
		"check the URL path (NDES: /certsrv/mscep/mscep.dll) and the web application"},
	[TXN_HTTP_QUERY_TOO_LONG] = {RESULT_CRITICAL, "http_query_too_long",
		"the server rejected the GET request as too long (IIS 404.15)",
		"raise IIS maxQueryString/maxUrl and HTTP.sys MaxFieldLength/MaxRequestBytes on "
		"the NDES server, or enable POSTPKIOperation"},
	[TXN_HTTP_METHOD_REJECTED] = {RESULT_CRITICAL, "http_method_rejected",
		"the server rejected the HTTP method",
		"set method: get (or post) for this transaction to match what the server accepts"},
	[TXN_HTTP_AUTH_REJECTED] = {RESULT_CRITICAL, "http_auth_rejected",
		"the server demanded or refused authentication",
		"check the username/password configured for the page and its Windows "
		"authentication settings"},
	[TXN_HTTP_SERVER_ERROR] = {RESULT_CRITICAL, "http_server_error",
		"the web service answered with a server error (HTTP 5xx)",
		"check the web server's logs; for NDES, IIS_IUSRS permissions and the app pool "
		"identity are the usual cause"},
	[TXN_HTTP_STATUS] = {RESULT_CRITICAL, "http_status",
		"the web service answered with an unexpected HTTP status",
		"run with -v to see the response and check the web server's logs"},
	[TXN_RESPONSE_TOO_LARGE] = {RESULT_CRITICAL, "response_too_large",
		"the response was larger than any valid answer",
		"check what answers on the URL: a proxy or error page is likely in the way"},
	[TXN_RESPONSE_TRUNCATED] = {RESULT_CRITICAL, "response_truncated",
		"the connection closed before the whole response arrived",
		"check the web service and any proxy in between for crashes or resets"},

	[TXN_NDES_PASSWORD_CACHE_FULL] = {RESULT_CRITICAL, "ndes_password_cache_full",
		"NDES refused a new challenge: the password cache is full",
		"unused one-time passwords expire after 60 minutes; restart NDES (IIS) to empty the "
		"cache, or raise PasswordMax, and probe less often than the cache refills"},
	[TXN_NDES_NO_PERMISSION] = {RESULT_CRITICAL, "ndes_no_permission",
		"the probe account has no permission to enroll with SCEP",
		"grant the probe account Enroll on the NDES templates or add it to the CA's "
		"enrollment agents"},
	[TXN_NDES_PAGE_UNRECOGNISED] = {RESULT_CRITICAL, "ndes_page_unrecognised",
		"the NDES admin page did not contain a challenge password",
		"open the mscep_admin page in a browser as the probe account and see what it shows"},

	[TXN_SCEP_CAPS_MISSING] = {RESULT_WARNING, "scep_caps_missing",
		"the server did not answer GetCACaps; legacy algorithms (3DES, SHA-1) were used",
		"an old or misconfigured NDES; RFC 8894 requires GetCACaps with AES and SHA-256"},
	[TXN_SCEP_CAPS_CHANGED] = {RESULT_WARNING, "scep_caps_changed",
		"the server's SCEP capabilities changed since the last run",
		"confirm the change was intended (server upgrade or configuration change)"},
	[TXN_SCEP_CACERT_MALFORMED] = {RESULT_CRITICAL, "scep_cacert_malformed",
		"GetCACert did not return a usable CA certificate",
		"check the SCEP service's CA/RA certificates"},
	[TXN_SCEP_CA_PIN_MISMATCH] = {RESULT_CRITICAL, "scep_ca_pin_mismatch",
		"the CA certificate does not match the pinned fingerprint",
		"the CA was replaced or an impostor answers: compare the CA thumbprint with the "
		"expected one before updating ca_fingerprint"},
	[TXN_SCEP_CA_EXPIRED] = {RESULT_CRITICAL, "scep_ca_expired",
		"the CA or RA certificate has expired or is not yet valid",
		"renew the CA/RA certificates (NDES: the Enrollment Agent and CEP Encryption "
		"certificates) and restart the service"},
	[TXN_SCEP_CA_EXPIRING] = {RESULT_WARNING, "scep_ca_expiring",
		"the CA or RA certificate expires within warn.expiry_days (default 30)",
		"plan the renewal of the CA/RA certificates before devices start failing"},
	[TXN_SCEP_RA_CHAIN_INVALID] = {RESULT_CRITICAL, "scep_ra_chain_invalid",
		"the RA certificates do not chain to the CA",
		"check the NDES RA certificates were issued by the CA the service publishes"},
	[TXN_SCEP_GET_TOO_LONG] = {RESULT_WARNING, "scep_get_too_long",
		"the GET PKIOperation query is longer than IIS's default 2048-byte limit",
		"devices using GET fail with 404.15 unless the NDES server's request limits are "
		"raised (Intune guidance: 65534)"},
	[TXN_SCEP_RENEWAL_UNSUPPORTED] = {RESULT_WARNING, "scep_renewal_unsupported",
		"renewal is configured but the server does not advertise it; PKCSReq was used",
		"enable renewal on the CA or set renewal: false"},

	[TXN_SCEP_CERTREP_CONTENT_TYPE] = {RESULT_CRITICAL, "scep_certrep_content_type",
		"the PKIOperation answer was not a SCEP message (wrong media type)",
		"an error page or proxy answered instead of the SCEP service: check the server logs"},
	[TXN_SCEP_CERTREP_MALFORMED] = {RESULT_CRITICAL, "scep_certrep_malformed",
		"the CertRep could not be parsed as a SCEP message",
		"check the SCEP service and anything rewriting responses in between"},
	[TXN_SCEP_CERTREP_UNSIGNED] = {RESULT_CRITICAL, "scep_certrep_unsigned",
		"the CertRep is not signed",
		"a SCEP server must sign every CertRep: check the service's RA signing certificate"},
	[TXN_SCEP_CERTREP_SIGNATURE] = {RESULT_CRITICAL, "scep_certrep_signature",
		"the CertRep signature does not verify with the CA/RA certificate",
		"the reply was signed by a key the published CA/RA certificates do not hold: check "
		"the RA signing certificate"},
	[TXN_SCEP_MESSAGE_TYPE_MISMATCH] = {RESULT_CRITICAL, "scep_message_type_mismatch",
		"the reply is not a CertRep",
		"the server echoed or mangled the message: check the SCEP service"},
	[TXN_SCEP_TRANSACTION_ID_MISMATCH] = {RESULT_CRITICAL, "scep_transaction_id_mismatch",
		"the CertRep answers a different transactionID",
		"the server mixed up requests or a cache replays old answers: check proxies and "
		"the SCEP service"},
	[TXN_SCEP_RECIPIENT_NONCE_MISMATCH] = {RESULT_CRITICAL, "scep_recipient_nonce_mismatch",
		"the CertRep's recipientNonce does not match our senderNonce",
		"a replayed or misrouted answer: check caches and proxies between probe and server"},
	[TXN_SCEP_DECRYPT_FAILED] = {RESULT_CRITICAL, "scep_decrypt_failed",
		"the CertRep envelope could not be decrypted with the request key",
		"the server encrypted to the wrong certificate or with an unsupported algorithm"},
	[TXN_SCEP_WEAK_CIPHER] = {RESULT_WARNING, "scep_weak_cipher",
		"the server encrypted its answer with single DES (forbidden by RFC 8894)",
		"configure the CA to use AES (advertise AES or SCEPStandard)"},
	[TXN_SCEP_WEAK_DIGEST] = {RESULT_WARNING, "scep_weak_digest",
		"the server signed its answer with SHA-1 or MD5",
		"configure the CA to sign with SHA-256 (advertise SHA-256)"},
	[TXN_SCEP_FAILURE_BAD_ALG] = {RESULT_CRITICAL, "scep_failure_bad_alg",
		"the CA rejected the request: unrecognised or unsupported algorithm (badAlg)",
		"compare the server's capabilities with its real configuration (NDES may advertise "
		"SHA-2 or AES it cannot use)"},
	[TXN_SCEP_FAILURE_BAD_MESSAGE_CHECK] = {RESULT_CRITICAL,
		"scep_failure_bad_message_check",
		"the CA rejected the request: integrity check failed (badMessageCheck)",
		"the server could not decrypt or verify the request: for NDES check the RA "
		"encryption certificate (event log: 'cannot decrypt ... Bad Data')"},
	[TXN_SCEP_FAILURE_BAD_REQUEST] = {RESULT_CRITICAL, "scep_failure_bad_request",
		"the CA rejected the request (badRequest)",
		"usually a wrong, used or expired challenge password or a policy refusal: see the "
		"CA/NDES event log for the reason"},
	[TXN_SCEP_FAILURE_BAD_TIME] = {RESULT_CRITICAL, "scep_failure_bad_time",
		"the CA rejected the request: signingTime too far from its clock (badTime)",
		"check NTP on the CA, the SCEP server and the monitoring host"},
	[TXN_SCEP_FAILURE_BAD_CERT_ID] = {RESULT_CRITICAL, "scep_failure_bad_cert_id",
		"the CA could not identify the certificate (badCertId)",
		"the poll or renewal named a certificate the CA does not know"},
	[TXN_SCEP_FAILURE_OTHER] = {RESULT_CRITICAL, "scep_failure_other",
		"the CA rejected the request with a failInfo code outside RFC 8894",
		"see failInfo and failInfoText in the report and the CA's logs"},
	[TXN_SCEP_PENDING_TIMEOUT] = {RESULT_CRITICAL, "scep_pending_timeout",
		"the request stayed PENDING past the polling budget",
		"the CA holds requests for manual approval or is stuck: check its pending queue, or "
		"use an auto-approving profile for the synthetic transaction"},
	[TXN_SCEP_PENDING] = {RESULT_WARNING, "scep_pending",
		"the CA answered PENDING: the request waited for approval before it was issued",
		"devices enrolling through this CA wait for a person; use an auto-approving profile "
		"for devices and for the synthetic transaction"},

	[TXN_SCEP_ISSUED_MISSING] = {RESULT_CRITICAL, "scep_issued_missing",
		"SUCCESS, but the reply holds no certificate for our key",
		"check the CA's issuance; the reply's certificates are listed with -v"},
	[TXN_SCEP_ISSUED_KEY_MISMATCH] = {RESULT_CRITICAL, "scep_issued_key_mismatch",
		"the issued certificate does not carry our public key",
		"the CA issued for another request: check the CA and anything caching replies"},
	[TXN_SCEP_ISSUED_UNTRUSTED] = {RESULT_CRITICAL, "scep_issued_untrusted",
		"the issued certificate does not chain to the SCEP CA",
		"the issuing CA differs from the one GetCACert publishes: check the CA chain"},
	[TXN_SCEP_ISSUED_VALIDITY] = {RESULT_CRITICAL, "scep_issued_validity",
		"the issued certificate is expired, not yet valid, or its validity is not sane",
		"check the CA's clock and the template's validity period"},
	[TXN_SCEP_ISSUED_SUBJECT_MISMATCH] = {RESULT_WARNING, "scep_issued_subject_mismatch",
		"the issued certificate's subject is not the one requested",
		"the CA or its policy module rewrote the subject: check the template"},
	[TXN_SCEP_ISSUED_EXPIRING] = {RESULT_WARNING, "scep_issued_expiring",
		"the CA issued a certificate that is already close to expiry",
		"a CA whose own certificate expires soon caps what it issues: renew the CA or its "
		"RA certificate; otherwise check the template's validity period"},

	[TXN_DISCOVERY_NO_RECORD] = {RESULT_CRITICAL, "discovery_no_record",
		"discovery got no answer: no SRV record or fallback host names a registrar for the "
		"SIP domain",
		"publish _sipinternaltls._tcp.<domain> (or the sipinternal/sip fallback A records) "
		"in the DNS devices use"},
	[TXN_CLIENT_CERT_UNAVAILABLE] = {RESULT_UNKNOWN, "client_cert_unavailable",
		"the probe has no usable client certificate to log on with",
		"check the certificate and key files, or let the enrollment transaction named in "
		"certificate.from succeed first"},
	[TXN_CLIENT_CERT_REQUIRED] = {RESULT_CRITICAL, "client_cert_required",
		"the registrar demands a client certificate and none was presented",
		"give the transaction a certificate (certificate: {from: <enrollment>}); devices "
		"without one cannot sign in"},
	[TXN_CLIENT_CERT_REJECTED] = {RESULT_CRITICAL, "client_cert_rejected",
		"the registrar rejected the client certificate during the TLS handshake",
		"check the registrar's client-certificate policy (key usage, EKU clientAuth, "
		"revocation) against the certificates the enrollment service issues"},
	[TXN_CLIENT_CERT_EXPIRED] = {RESULT_CRITICAL, "client_cert_expired",
		"the registrar rejected the client certificate as expired",
		"devices must renew before expiry: check the enrollment service and renewal, and "
		"the clocks of registrar and probe"},
	[TXN_CLIENT_CERT_UNTRUSTED] = {RESULT_CRITICAL, "client_cert_untrusted",
		"the registrar does not trust the CA that issued the client certificate",
		"add the issuing CA (and its intermediates) to the registrar's client CA list"},
	[TXN_CLIENT_CERT_EXPIRING] = {RESULT_WARNING, "client_cert_expiring",
		"the client certificate expires soon",
		"check that the enrollment service renews device certificates in time"},
	[TXN_TLS_SELF_SIGNED] = {RESULT_CRITICAL, "tls_self_signed",
		"the server presents a self-signed certificate that devices do not trust",
		"replace it with a certificate issued by a CA that chains to a root devices ship with"},
	[TXN_TLS_CERT_EXPIRING] = {RESULT_WARNING, "tls_cert_expiring",
		"the server certificate expires soon",
		"renew the server certificate before devices start refusing it"},

	[TXN_REGISTRAR_CLOSED] = {RESULT_CRITICAL, "registrar_closed",
		"registrar problem: the connection closed without a SIP answer",
		"check the registrar's log for the rejected connection (TLS policy, crash, overload)"},
	[TXN_REGISTRAR_PROTOCOL] = {RESULT_CRITICAL, "registrar_protocol",
		"registrar problem: the answer was not a valid SIP response",
		"check that the address points at the registrar's SIP/TLS listener"},
	[TXN_REGISTRAR_REDIRECT] = {RESULT_CRITICAL, "registrar_redirect",
		"registrar problem: redirected to the home pool in a loop or to an unusable address",
		"check the user's home pool assignment and the Contact the registrar returns"},
	[TXN_REGISTRAR_UNAUTHORIZED] = {RESULT_CRITICAL, "registrar_unauthorized",
		"the registrar did not accept the certificate logon and asked for other credentials "
		"(SIP 401)",
		"enable certificate authentication for this registrar, or check that it maps the "
		"certificate to the user"},
	[TXN_REGISTRAR_TLS_DSK_REQUIRED] = {RESULT_CRITICAL, "registrar_tls_dsk_required",
		"the registrar wants Lync/Skype TLS-DSK certificate authentication inside SIP "
		"(SIP 401 offering TLS-DSK)",
		"this is a Lync/Skype for Business registrar: probe it with 'auth: tls-dsk'"},
	[TXN_REGISTRAR_AUTH_REJECTED] = {RESULT_CRITICAL, "registrar_auth_rejected",
		"the registrar refused the logon (SIP 403)",
		"read the reason: the certificate's identity (CN/SAN) must match the SIP URI, and "
		"the user must be allowed to register"},
	[TXN_REGISTRAR_USER_NOT_FOUND] = {RESULT_CRITICAL, "registrar_user_not_found",
		"the registrar does not know the user (SIP 404): not SIP-enabled or wrong domain",
		"check that the user is enabled for SIP on this pool and the SIP URI's domain"},
	[TXN_REGISTRAR_REQUEST_TIMEOUT] = {RESULT_CRITICAL, "registrar_request_timeout",
		"registrar problem: it timed out processing the logon (SIP 408)",
		"check the registrar's back end (user store, database) and its load"},
	[TXN_REGISTRAR_USER_UNAVAILABLE] = {RESULT_CRITICAL, "registrar_user_unavailable",
		"the registrar answered that the user is temporarily unavailable (SIP 480)",
		"check the user's home pool and whether it is in maintenance or failed over"},
	[TXN_REGISTRAR_UNAVAILABLE] = {RESULT_CRITICAL, "registrar_unavailable",
		"registrar problem: service unavailable (SIP 503), overloaded or its data store is "
		"unavailable",
		"check the registrar's health, its back-end database and the Retry-After it sent"},
	[TXN_REGISTRAR_SERVER_TIMEOUT] = {RESULT_CRITICAL, "registrar_server_timeout",
		"registrar problem: a server behind the registrar did not answer in time (SIP 504)",
		"check the home pool and the links between front end and back end servers"},
	[TXN_REGISTRAR_STATUS] = {RESULT_CRITICAL, "registrar_status",
		"the registrar refused the request with an unexpected SIP status",
		"read the status and reason in the detail and the registrar's log"},
	[TXN_REGISTRAR_UNREGISTER_FAILED] = {RESULT_WARNING, "registrar_unregister_failed",
		"the logon worked but the un-REGISTER was not accepted; the probe's binding stays "
		"until it expires",
		"check the registrar's handling of Expires: 0; the binding lapses after 'expires'"},
	[TXN_STEP_SLOW] = {RESULT_WARNING, "step_slow",
		"a step took longer than its latency threshold (warn.latency)",
		"the step named in the detail is slow: check the load and the back end of the server "
		"it talks to (CA, database, registrar)"},

	[TXN_PROBE_FILE_NOT_REGULAR] = {RESULT_UNKNOWN, "probe_file_not_regular",
		"a file the probe is configured with is not a regular file (a FIFO, device or "
		"directory)",
		"point the setting named in the detail at a PEM file; the target was not judged"},
	[TXN_PROBE_FILE_TOO_LARGE] = {RESULT_UNKNOWN, "probe_file_too_large",
		"a file the probe is configured with is larger than any valid one",
		"check the path named in the detail: it is not the PEM file it should be; the "
		"target was not judged"},
	[TXN_PROBE_FILE_UNREADABLE] = {RESULT_UNKNOWN, "probe_file_unreadable",
		"a file the probe is configured with cannot be read",
		"check that the file named in the detail exists and is readable by the probe user; "
		"the target was not judged"},

	/* phone-bootstrap: DHCP discovery as a Lync phone does it (lync-certprov.md §1, §8) */
	[TXN_DHCP_NO_RESPONSE] = {RESULT_CRITICAL, "dhcp_no_response",
		"no DHCP server answered the MS-UC-Client INFORM after every retry, so a phone "
		"cannot find Web Services (CertProv) or the Registrar and never offers PIN sign-in",
		"check that the DHCP server (or DHCPUtil's configuration, or the Lync Registrar's "
		"DHCP: Set-CsRegistrarConfiguration -EnableDHCPServer $true) serves vendor class "
		"MS-UC-Client and that relays (ip helper) forward INFORM to it; or configure "
		"certprov_url/registrar to bypass DHCP"},
	[TXN_DHCP_OPT43_MISSING] = {RESULT_CRITICAL, "dhcp_opt43_missing",
		"the DHCP answer carries no option 43 for vendor class MS-UC-Client: a phone does not "
		"learn the Certificate Provisioning Service URL",
		"the server did not match the vendor class: define it with data exactly "
		"\"MS-UC-Client\" (case-sensitive; not the class name MSUCClient) and its options "
		"1-5 (DHCPUtil/DHCPConfigScript, or a client class on option 60); the detail names "
		"the answering server: a server that ignores vendor classes answered first"},
	[TXN_DHCP_OPT43_TRUNCATED] = {RESULT_CRITICAL, "dhcp_opt43_truncated",
		"option 43 is cut short: a sub-option runs past the end of the option, so the CertProv "
		"URL is lost (PIN sign-in never appears on the phone)",
		"Cisco IOS 15.1(3)S and later cut `option 43 hex` at 180 hex digits (90 bytes): "
		"use a shorter web services FQDN, serve the options from Windows DHCP or the "
		"Registrar's DHCP, or split the option; recompute the bytes with DHCPUtil"},
	[TXN_DHCP_OPT43_MALFORMED] = {RESULT_CRITICAL, "dhcp_opt43_malformed",
		"option 43 does not decode into a CertProv URL (sub-options 1-5: MS-UC-Client, "
		"scheme, web services FQDN, port as text, /CertProv/CertProvisioningService.svc)",
		"regenerate the option with DHCPUtil -SipServer <pool> -WebServer <web FQDN>: the "
		"detail names the bad sub-option (all values are ASCII text, the port too)"},
	[TXN_DHCP_OPT120_MISSING] = {RESULT_CRITICAL, "dhcp_opt120_missing",
		"the DHCP answer carries no option 120 (SIP servers): a phone does not learn its "
		"Registrar",
		"define option 120 (UCSipServer) with the FQDN of the first logon pool (the Director "
		"pool if there is one, else the Front End pool) for vendor class MS-UC-Client"},
	[TXN_DHCP_OPT120_ADDRESSES] = {RESULT_CRITICAL, "dhcp_opt120_addresses",
		"option 120 lists IP addresses (RFC 3361 encoding 1): a Lync phone reaches the "
		"Registrar over TLS and checks its name, so it needs an FQDN",
		"serve option 120 with encoding 0 and the pool FQDN (DHCPUtil computes the bytes); "
		"an IP address cannot match the Registrar's certificate"},
	[TXN_DHCP_OPT120_MALFORMED] = {RESULT_CRITICAL, "dhcp_opt120_malformed",
		"option 120 does not decode into a registrar FQDN (bad encoding byte, labels running "
		"past the option, no terminating zero, or not a fully qualified name)",
		"regenerate option 120 with DHCPUtil (encoding 0, DNS labels, trailing 0x00); the "
		"detail names the fault and the raw options are in the report"},
	[TXN_PROBE_DHCP_SOCKET] = {RESULT_UNKNOWN, "probe_dhcp_socket",
		"the probe could not open its DHCP socket on the configured interface",
		"the probe's own side: check dhcp.interface exists and is up; port 68 needs root or "
		"CAP_NET_BIND_SERVICE (without it the INFORM goes from an ephemeral port, which "
		"needs a server that answers INFORM to the source port, as dnsmasq does); "
		"DISCOVER without an address needs port 68; the target was not judged"},

	/* phone-bootstrap (lync-certprov.md §8); the actions are the seed's resolutions */
	[TXN_CERTPROV_UNREACHABLE] = {RESULT_CRITICAL, "certprov_unreachable",
		"unable to locate Lync Certificate Web service: the CertProv URL cannot be "
		"reached",
		"check the CertProv URL (DHCP option 43 or the configured certprov_url), that "
		"its name resolves and that Web Services (IIS) listens on its port; the next "
		"run retries"},
	[TXN_CERTPROV_ROOT_CHAIN_FAILED] = {RESULT_CRITICAL, "certprov_root_chain_failed",
		"error downloading certificate chain: the anonymous CertProv URL over HTTP (the "
		"device's first connection) failed",
		"check that Web Services answers on port 80 (CAHandlerInternalAnonUri) and that "
		"certificate chain download is enabled (EnableCertChainDownload); the "
		"certificate must be issued by a CA that chains to a root the phone ships with"},
	[TXN_CERTPROV_WEBSVC_UNTRUSTED] = {RESULT_CRITICAL, "certprov_websvc_untrusted",
		"cannot verify Web Services certificate: it does not chain to a root the phone "
		"ships with (device trust store plus the downloaded chain)",
		"the certificate must be issued by a CA that chains to a root the phone ships "
		"with; or add the root to Web Services' trusted CA certificates so devices "
		"download it"},
	[TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE] = {RESULT_CRITICAL, "certprov_websvc_chain_incomplete",
		"cannot verify Web Services certificate: the chain has no full path of trust "
		"from the root to the web server (a link is missing)",
		"install the missing intermediate named in the detail on the web server so it "
		"sends the full chain; the certificate must be issued by a CA that chains to a "
		"root the phone ships with"},
	[TXN_CERTPROV_METADATA_BAD] = {RESULT_CRITICAL, "certprov_metadata_bad",
		"the CertProv metadata (/mex) is missing or names no web ticket policy",
		"check the CertProv virtual directory of Web Services "
		"(…/CertProvisioningService.svc/mex must answer with the WebTicketProof_SHA1 "
		"policy); get certprov.log from every server in the pool"},
	[TXN_WEBTICKET_NO_RESPONSE] = {RESULT_CRITICAL, "webticket_no_response",
		"no response received for Web-Ticket service",
		"check the Web Ticket service of Web Services (WebTicket/WebTicketService.svc, "
		"its IIS app pool) and the URL /mex names; the next run retries"},
	[TXN_WEBTICKET_PIN_REJECTED] = {RESULT_CRITICAL, "webticket_pin_rejected",
		"could not get web ticket: the phone number or extension and PIN were rejected",
		"check that the phone number or extension and PIN match the user's SIP URI "
		"(LineUri, Get-CsClientPinInfo) and that the user has a PIN set"},
	[TXN_WEBTICKET_PIN_DISABLED] = {RESULT_CRITICAL, "webticket_pin_disabled",
		"could not get web ticket: PIN authentication is not allowed by Web Services",
		"enable PIN authentication (Set-CsWebServiceConfiguration -UsePinAuth $true) on "
		"the pool's Web Services"},
	[TXN_WEBTICKET_USER_LOCKED] = {RESULT_CRITICAL, "webticket_user_locked",
		"could not get web ticket: the user's PIN is locked out after too many failed "
		"attempts",
		"an administrator unlocks the PIN (Unlock-CsClientPin) or sets a new one; check "
		"the PIN policy's maximum logon attempts and who keeps trying"},
	[TXN_WEBTICKET_USER_NOT_ENABLED] = {RESULT_CRITICAL, "webticket_user_not_enabled",
		"could not get web ticket: the user is not SIP enabled or does not exist",
		"check the synthetic user's account: enabled for Lync/Skype, homed on a pool, "
		"SIP URI as configured"},
	[TXN_WEBTICKET_FAULT] = {RESULT_CRITICAL, "webticket_fault",
		"could not get web ticket: the Web Ticket service answered with a fault or an "
		"unusable token",
		"read the fault id and reason in the detail (MS-OCER ids) and the Web Ticket "
		"service's logs; check the web ticket shape settings if the service is not "
		"Lync/Skype"},
	[TXN_CERTPROV_PUBLISH_FAILED] = {RESULT_CRITICAL, "certprov_publish_failed",
		"cannot publish certificate: Web Services could not publish the certificate to "
		"the user's home pool (data store unavailable)",
		"sporadic: retry (a device retries after a power cycle); persistent: check "
		"connectivity from Web Services to the User Services store of the user's home "
		"pool; run this transaction for other users to see whether it is wider than one "
		"device"},
	[TXN_CERTPROV_TICKET_REJECTED] = {RESULT_CRITICAL, "certprov_ticket_rejected",
		"CertProv rejected the web ticket (HTTP 401)",
		"read X-Ms-diagnostics in the detail; check that Web Ticket and CertProv run on "
		"the same pool and that the servers' clocks agree"},
	[TXN_CERTPROV_SERVICE_DOWN] = {RESULT_CRITICAL, "certprov_service_down",
		"the certificate provisioning service did not answer GetAndPublishCert (server "
		"error or no answer in time)",
		"check Web Services (the CertProv IIS app pool) and its event log; get "
		"certprov.log from every server in the pool; the next run retries"},
	[TXN_CERTPROV_FAULT] = {RESULT_CRITICAL, "certprov_fault",
		"GetAndPublishCert answered with a SOAP fault or a response without a "
		"certificate",
		"read the fault in the detail; get certprov.log from every server in the pool"},
	[TXN_CERTPROV_CERT_INVALID] = {RESULT_CRITICAL, "certprov_cert_invalid",
		"the certificate CertProv issued is unusable (not for our key or user, valid "
		"less than an hour, or not chaining to the published chain)",
		"check the OCS signing CA of the pool, Web Services' validity settings and the "
		"servers' clocks; the detail names the check that failed"},
	[TXN_CERTPROV_REGISTRAR_PROBLEM] = {RESULT_CRITICAL, "certprov_registrar_problem",
		"cannot publish certificate due to Registrar problem: the certificate could not "
		"be generated or published",
		"check the Registrar's health and its alerts; get certprov.log from every "
		"server in the pool, since the device may be directed to any of them"},

	/* client-auth with auth: tls-dsk; the actions follow the seed's "Registrar problem" */
	[TXN_REGISTRAR_NO_TLS_DSK] = {RESULT_CRITICAL, "registrar_no_tls_dsk",
		"registrar problem: the registrar offers no TLS-DSK certificate authentication (its "
		"401 names only other schemes), so a phone that signed in with its PIN cannot log on",
		"enable certificate authentication on the Registrar (TLS-DSK with the CertProv "
		"sts-uri); check the Registrar's health and alerts; the next run retries"},
	[TXN_REGISTRAR_DSK_CERT_REJECTED] = {RESULT_CRITICAL, "registrar_dsk_cert_rejected",
		"cannot publish certificate due to Registrar problem: after the TLS-DSK handshake "
		"the registrar asked again (SIP 401): the certificate was not published or is not "
		"trusted",
		"check that CertProv published the certificate to the user's home pool and that the "
		"Registrar trusts the OCS signing CA; check the Registrar's health and alerts and get "
		"logs from every server in the pool (the device may be directed to any of them); "
		"the next run retries"},
	[TXN_REGISTRAR_DSK_TLS_ALERT] = {RESULT_CRITICAL, "registrar_dsk_tls_alert",
		"registrar problem: the TLS handshake tunnelled in gssapi-data failed (a TLS alert "
		"inside the SIP exchange)",
		"read the alert in the detail (unknown CA, bad or expired certificate, no shared "
		"cipher); check the Registrar's health and alerts and get logs from every server in "
		"the pool; the next run retries"},
	[TXN_REGISTRAR_DSK_FORBIDDEN] = {RESULT_CRITICAL, "registrar_dsk_forbidden",
		"registrar problem: the registrar refused the TLS-DSK logon (SIP 403, ms-diagnostics "
		"id and reason in the detail)",
		"look the ms-diagnostics id up in the Registrar's logs; check the Registrar's health "
		"and alerts and get logs from every server in the pool; the next run retries"},
	[TXN_REGISTRAR_DSK_USER_NOT_ENABLED] = {RESULT_CRITICAL, "registrar_dsk_user_not_enabled",
		"the user is not enabled for SIP or does not exist (SIP 404, ms-diagnostics 4005)",
		"enable the user for Lync/Skype on its home pool and check the SIP URI; the next run "
		"retries"},
	[TXN_REGISTRAR_DSK_TIMEOUT] = {RESULT_CRITICAL, "registrar_dsk_timeout",
		"registrar problem: the registrar did not complete the TLS-DSK logon in time (SIP 504 "
		"or no answer)",
		"check the Registrar's health and alerts, its back end and the home pool; get logs "
		"from every server in the pool (the device may be directed to any of them); the next "
		"run retries"},
	[TXN_REGISTRAR_DSK_BAD_RSPAUTH] = {RESULT_CRITICAL, "registrar_dsk_bad_rspauth",
		"the registrar's answer is not signed with the TLS-DSK session key (Authentication-Info "
		"rspauth missing or wrong): a man in the middle or a key mismatch",
		"check what sits between the probe and the Registrar (SIP proxies, load balancers "
		"rewriting messages) and the Registrar's logs; the next run retries"},
	[TXN_REGISTRAR_DSK_PROTOCOL] = {RESULT_CRITICAL, "registrar_dsk_protocol",
		"registrar problem: the TLS-DSK exchange broke the protocol (malformed WWW-Authenticate, "
		"gssapi-data or Authentication-Info)",
		"check that the address points at a Lync/Skype Registrar and read the detail; get "
		"logs from every server in the pool; the next run retries"},
	[TXN_REGISTRAR_NOT_DISCOVERED] = {RESULT_UNKNOWN, "registrar_not_discovered",
		"the registrar is not known yet: the phone-bootstrap named in registrar.from has not "
		"recorded one (it has not completed a run)",
		"let the phone-bootstrap transaction named in registrar.from succeed first; the next "
		"run retries"},
};
/* clang-format on */

_Static_assert(sizeof txn_status_table / sizeof txn_status_table[0] == TXN_STATUS_COUNT,
               "txn_status_table must cover every enum txn_status");

static const char *const result_class_names[] = {
    [RESULT_OK] = "OK",
    [RESULT_WARNING] = "WARNING",
    [RESULT_CRITICAL] = "CRITICAL",
    [RESULT_UNKNOWN] = "UNKNOWN",
};

const struct txn_status_info *txn_status_info(enum txn_status s)
{
	if ((unsigned)s >= TXN_STATUS_COUNT || txn_status_table[s].code == NULL)
		s = TXN_PROBE_INTERNAL;
	return &txn_status_table[s];
}

const char *txn_status_code(enum txn_status s)
{
	return txn_status_info(s)->code;
}

enum result_class txn_status_result(enum txn_status s)
{
	return txn_status_info(s)->result;
}

const char *result_class_name(enum result_class r)
{
	if ((unsigned)r > RESULT_UNKNOWN)
		r = RESULT_UNKNOWN;
	return result_class_names[r];
}

int result_class_parse(const char *s, enum result_class *out)
{
	for (int i = 0; i <= RESULT_UNKNOWN; i++)
		if (s != NULL && strcmp(s, result_class_names[i]) == 0) {
			*out = (enum result_class)i;
			return 0;
		}
	return -1;
}
