#!/bin/bash
# The CertProv + Web Ticket double (tests/peers/certprov_double) on its own, on
# 127.0.0.1:19500-19529, driven with curl + openssl + xmllint as a phone would: the root
# chain over anonymous HTTP, /mex discovery, a web ticket by phone number + PIN and by
# UsernameToken, the P_SHA1 proof key and the HMAC-SHA1 signature over the exc-c14n
# timestamp, GetAndPublishCert with a CRLF-wrapped CSR, the issued certificate checked
# against the OCS Signing CA and the published file, then every failure knob of the README
# and its documented answer, the TLS listeners (leaf only, expired, not yet valid, wrong
# name), the published certificate accepted by the TLS-DSK registrar double, no secret
# in the log, and a clean SIGTERM exit.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCDIR/tests/lab/lib.sh"
. "$SRCDIR/tests/integration/assert.sh"
lab_test_init

ANON=19500 HTTPS=19501 LEAF=19502 EXPIRED=19503 WRONGNAME=19504 NOTYET=19505
P=$LAB/pki PUB=$LAB/published W=$LAB/work
NS_WSU=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
NS_WSSE=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
ACT_ISSUE=http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue
ACT_GAPC=http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert
PIN=5678 PASSWORD='Passw0rd!'
mkdir -p "$W"
umask 077
"$SRCDIR/tests/peers/certprov_double/certprov-pki.sh" "$P" || { echo "FAIL - PKI"; exit 1; }

cat >"$LAB/users" <<EOF
# phone/ext/PIN users; k-MODE users carry their knob
phone=+14255550100,ext=1234,pin=$PIN,sip=sip:alice@example.com,password=$PASSWORD
phone=+14255550101,ext=1235,pin=4321,sip=sip:bob@example.com,mode=datastore
phone=+14255550102,ext=1236,pin=1111,sip=sip:carol@example.com
phone=+14255550103,pin=2222,sip=sip:k-notsip@example.com
# two users on one number: the PIN tells them apart
phone=+14255550104,pin=3333,sip=sip:erin@example.com
phone=+14255550104,pin=4444,sip=sip:frank@example.com
EOF
DPID=
double_start() {
	: >"$LAB/double.out"
	"$BIN/certprov_double" -p $HTTPS -a $ANON -c "$P/server-chain.pem" -k "$P/server.key" \
		--chain "$P/chain.pem" --ocs-cert "$P/ocs-ca.crt" --ocs-key "$P/ocs-ca.key" \
		--published-dir "$PUB" -U "$LAB/users" --max-pin-attempts 3 \
		-x "$LEAF:$P/server-leaf.pem:$P/server.key" \
		-x "$EXPIRED:$P/server-expired-chain.pem:$P/server.key" \
		-x "$WRONGNAME:$P/server-wrongname-chain.pem:$P/server.key" \
		-x "$NOTYET:$P/server-notyet-chain.pem:$P/server.key" \
		-v "$@" >"$LAB/double.out" 2>>"$LAB/double.log" &
	DPID=$!
	LAB_PIDS="$LAB_PIDS $DPID"
	until_true 10 grep -q '^ready$' "$LAB/double.out"
}
double_start || { echo "FAIL - certprov_double did not start"; cat "$LAB/double.log"; exit 1; }
BASE=https://127.0.0.1:$HTTPS

# ---- helpers: HTTP, XML, crypto ----
# req NAME METHOD URL [SOAPACTION [BODYFILE]]: $W/NAME.body, .hdr; $CODE
req() {
	local name=$1 method=$2 url=$3 action=${4:-} body=${5:-}
	local args=(-sS -o "$W/$name.body" -D "$W/$name.hdr" -w '%{http_code}' --max-time 10
		--cacert "$P/root.crt" -X "$method")
	[ -n "$action" ] && args+=(-H "SOAPAction: \"$action\"")
	[ -n "$body" ] && args+=(-H 'Content-Type: text/xml; charset=utf-8')
	[ -n "$body" ] && args+=(--data-binary "@$body")
	CODE=$(curl "${args[@]}" "$url" 2>"$W/$name.err")
}
# xp NAME XPATH: the string value of XPATH in $W/NAME.body (local-name() tests)
xp() { xmllint --xpath "string($2)" "$W/$1.body" 2>/dev/null; }
el() { printf "*[local-name()='%s']" "$1"; }
hdr() { grep -i "^$2:" "$W/$1.hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
body_has() { grep -q -- "$2" "$W/$1.body"; }
b64() { printf '%s' "$1" | base64 -w0; }
hex_of_b64() { printf '%s' "$1" | base64 -d | xxd -p | tr -d '\n'; }
hmac_hex() { # KEYHEX DATAHEX -> HMAC-SHA1 hex
	printf '%s' "$2" | xxd -r -p | openssl mac -digest SHA1 -macopt "hexkey:$1" HMAC | tr 'A-F' 'a-f'
}
psha1() { # SECRETHEX SEEDHEX -> 32 bytes hex (TLS P_SHA1)
	local a1 a2 o1 o2
	a1=$(hmac_hex "$1" "$2")
	o1=$(hmac_hex "$1" "$a1$2")
	a2=$(hmac_hex "$1" "$a1")
	o2=$(hmac_hex "$1" "$a2$2")
	printf '%s%s' "$o1" "${o2:0:24}"
}

# issue_body FILE USERNAME PASSWORD [ENTROPY_B64] [APPLIES_TO]: an IssueToken RST
issue_body() {
	local ent=""
	[ -n "${4:-}" ] && ent="<wst:Entropy><wst:BinarySecret>$4</wst:BinarySecret></wst:Entropy>"
	cat >"$1" <<EOF
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsse="$NS_WSSE" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">
 <s:Header>
  <wsa:Action>$ACT_ISSUE</wsa:Action>
  <wsa:MessageID>uuid:6f1b9c1e-2b7c-4d2e-9a55-2f3c4b5d6e7f</wsa:MessageID>
  <wsa:To>$BASE/WebTicket/WebTicketService.svc/Pin</wsa:To>
  <wsse:Security><wsse:UsernameToken><wsse:Username>$2</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">$3</wsse:Password></wsse:UsernameToken></wsse:Security>
 </s:Header>
 <s:Body>
  <wst:RequestSecurityToken Context="ctx-1">
   <wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType>
   <wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</wst:RequestType>
   <wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference><wsa:Address>${5:-$BASE/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
   $ent
   <wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>
  </wst:RequestSecurityToken>
 </s:Body>
</s:Envelope>
EOF
}

CE_HEX=$(openssl rand -hex 32)
CE_B64=$(printf '%s' "$CE_HEX" | xxd -r -p | base64 -w0)
# ticket NAME URL USERNAME PASSWORD [noentropy]: IssueToken; on 200 sets KEY_HEX (the
# proof key, computed like a client), ASSERTION (the element), AID, CREATED, EXPIRES
ticket() {
	local name=$1 url=$2 se
	if [ "${5:-}" = noentropy ]; then issue_body "$W/$name.req" "$3" "$4"; else issue_body "$W/$name.req" "$3" "$4" "$CE_B64"; fi
	req "$name" POST "$url" "$ACT_ISSUE" "$W/$name.req"
	[ "$CODE" = 200 ] || return 0
	AID=$(xp "$name" "//$(el Assertion)/@AssertionID")
	CREATED=$(xp "$name" "//$(el Lifetime)/$(el Created)")
	EXPIRES=$(xp "$name" "//$(el Lifetime)/$(el Expires)")
	ASSERTION=$(xmllint --xpath "//*[local-name()='Assertion']" "$W/$name.body" 2>/dev/null)
	se=$(xp "$name" "//$(el RequestSecurityTokenResponse)/$(el Entropy)/$(el BinarySecret)")
	if [ -n "$se" ]; then
		KEY_HEX=$(psha1 "$CE_HEX" "$(hex_of_b64 "$se")")
	else
		KEY_HEX=$(hex_of_b64 "$(xp "$name" "//$(el RequestedProofToken)/$(el BinarySecret)")")
	fi
}

# csr USER@HOST: $W/USER.key and the CSR's DER base64 wrapped at 76 columns with CRLF
csr() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$W/$1.key" -subj "/CN=$1" -outform DER \
		2>/dev/null | base64 -w76 | sed 's/$/\r/' | sed '$ s/\r$//'
}

# gapc_body FILE ENTITY CSRB64 [sig-mode]: GetAndPublishCert signed with KEY_HEX over the
# canonical timestamp (sig-mode: good, badsig, nosig, nowsa, expiredts, badref)
gapc_body() {
	local file=$1 entity=$2 csrb=$3 mode=${4:-good} ts si dv sv created=$CREATED expires=$EXPIRES wsa
	if [ "$mode" = expiredts ]; then created=2020-01-01T00:00:00.000Z expires=2020-01-01T00:05:00.000Z; fi
	ts="<wsu:Timestamp xmlns:wsu=\"$NS_WSU\" wsu:Id=\"timestamp\"><wsu:Created>$created</wsu:Created><wsu:Expires>$expires</wsu:Expires></wsu:Timestamp>"
	dv=$(printf '%s' "$ts" | openssl dgst -sha1 -binary | base64 -w0)
	local uri="#timestamp"
	[ "$mode" = badref ] && uri="#other"
	si="<SignedInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></CanonicalizationMethod><SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\"></SignatureMethod><Reference URI=\"$uri\"><Transforms><Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></Transform></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"></DigestMethod><DigestValue>$dv</DigestValue></Reference></SignedInfo>"
	sv=$(printf '%s' "$(hmac_hex "$KEY_HEX" "$(printf '%s' "$si" | xxd -p | tr -d '\n')")" | xxd -r -p | base64 -w0)
	[ "$mode" = badsig ] && sv=$(printf 'x%.0s' $(seq 20) | base64 -w0)
	local sig="<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">$si<SignatureValue>$sv</SignatureValue><KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier ValueType=\"http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID\">$AID</wsse:KeyIdentifier></wsse:SecurityTokenReference></KeyInfo></Signature>"
	[ "$mode" = nosig ] && sig=""
	wsa="<wsa:MessageID>uuid:0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a</wsa:MessageID>"
	[ "$mode" = nowsa ] && wsa=""
	{
		cat <<EOF
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsse="$NS_WSSE" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">
 <s:Header>
  <wsa:Action>$ACT_GAPC</wsa:Action>
  $wsa
  <wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>
  <wsa:To>$BASE/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1</wsa:To>
  <wsse:Security>$ts$ASSERTION$sig</wsse:Security>
 </s:Header>
 <s:Body>
  <GetAndPublishCert xmlns="http://schemas.microsoft.com/OCS/AuthWebServices/" xmlns:wstep="http://schemas.microsoft.com/windows/pki/2009/01/enrollment" DeviceId="{8D5E2C1A-3F4B-4C6D-9E8F-0A1B2C3D4E5F}" Entity="$entity">
   <wst:RequestSecurityToken>
    <wst:TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3</wst:TokenType>
    <wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>
EOF
		printf '    <wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10" EncodingType="%s#Base64Binary">%s</wsse:BinarySecurityToken>\n' "$NS_WSSE" "$csrb"
		cat <<EOF
    <wstep:RequestID>42</wstep:RequestID>
   </wst:RequestSecurityToken>
  </GetAndPublishCert>
 </s:Body>
</s:Envelope>
EOF
	} >"$file"
}
# the issued certificate of response NAME -> $W/NAME.crt (PEM); false when there is none
issued() {
	local b
	b=$(xp "$1" "//$(el RequestedSecurityToken)/$(el BinarySecurityToken)")
	[ -n "$b" ] && printf '%s' "$b" | base64 -d 2>/dev/null | openssl x509 -inform DER -out "$W/$1.crt" 2>/dev/null
}
stats() { curl -s --max-time 5 --cacert "$P/root.crt" "$BASE/stats" | jq -r "$1"; }
not() { ! "$@"; }
silent() { "$@" >/dev/null 2>&1; }
diag_id() { hdr "$1" X-Ms-diagnostics | cut -d';' -f1; }
fault_id() { xp "$1" "//$(el Ms-Diagnostics-Fault)/$(el ErrorId)"; }

WT=$BASE/WebTicket/WebTicketService.svc
CP=$BASE/CertProv/CertProvisioningService.svc

# ---- the root chain over anonymous HTTP ----
req anon GET "http://127.0.0.1:$ANON/CertProv/CertProvisioningService.svc"
check "anon root chain: 200" [ "$CODE" = 200 ]
check "anon root chain: PKCS#7" [ "$(hdr anon Content-Type)" = application/pkcs7-mime ]
openssl pkcs7 -inform DER -in "$W/anon.body" -print_certs -out "$W/anon-chain.pem" 2>/dev/null
check "anon root chain: issuing CA + root" [ "$(grep -c 'BEGIN CERT' "$W/anon-chain.pem")" = 2 ]
check "anon root chain completes the leaf-only server certificate" \
	quiet openssl verify -CAfile "$P/root.crt" -untrusted "$W/anon-chain.pem" "$P/server-leaf.pem"
req anonpem GET "http://127.0.0.1:$ANON/CertProv/CertProvisioningService.svc?format=pem"
check "anon root chain ?format=pem" cmp -s "$W/anonpem.body" "$P/chain.pem"
req anonpost POST "http://127.0.0.1:$ANON/CertProv/CertProvisioningService.svc"
check "anon root chain: POST 405" [ "$CODE" = 405 ]
req anonmex GET "http://127.0.0.1:$ANON/CertProv/CertProvisioningService.svc/mex"
check "anon listener serves nothing else (404)" [ "$CODE" = 404 ]

# ---- /mex ----
req mex GET "$CP/mex"
check "CertProv /mex: 200" [ "$CODE" = 200 ]
WT_URL=$(xp mex "//$(el Policy)[@*[local-name()='Id']='CertProvisioningServiceWebTicketProof_SHA1_policy']/$(el ExactlyOne)/$(el All)/$(el EndorsingSupportingTokens)/$(el Policy)/$(el IssuedToken)/$(el Issuer)/$(el Address)")
AUTH_URL=$(xp mex "//$(el service)/$(el port)[@name='CertProvisioningServiceWebTicketProof_SHA1']/$(el address)/@location")
check "CertProv /mex: Web Ticket URL ($WT_URL)" [ "$WT_URL" = "$WT" ]
check "CertProv /mex: auth URL ($AUTH_URL)" [ "$AUTH_URL" = "$CP/WebTicket_Proof_SHA1" ]
req wtmex GET "$WT_URL/mex"
PIN_URL=$(xp wtmex "//$(el port)[@name='WebTicketServicePin']/$(el address)/@location")
check "WebTicket /mex: PIN port" [ "$PIN_URL" = "$WT/Pin" ]
check "WebTicket /mex: Auth port" [ "$(xp wtmex "//$(el port)[@name='WebTicketServiceAuth']/$(el address)/@location")" = "$WT/Auth" ]

# ---- web ticket by phone number + PIN (base64, the brief's inference) ----
ticket pin "$PIN_URL" "$(b64 +14255550100)" "$(b64 $PIN)"
check "PIN ticket: 200" [ "$CODE" = 200 ]
check "PIN ticket: SAML assertion for alice" body_has pin '>sip:alice@example.com</saml:NameIdentifier>'
check "PIN ticket: computed key PSHA1" body_has pin 'CK/PSHA1'
check "PIN ticket: Context echoed" body_has pin 'Context="ctx-1"'
check "PIN ticket: lifetime 8 h" [ $(($(date -d "$EXPIRES" +%s) - $(date -d "$CREATED" +%s))) = 28800 ]
check "PIN ticket: stats say base64 PIN by phone" \
	[ "$(stats '.last_issue | "\(.credential) \(.phone_or_ext) \(.username_base64) \(.password_base64) \(.client_entropy)"')" = "pin phone true true true" ]

# ---- GetAndPublishCert with it ----
CSR=$(csr alice@example.com)
gapc_body "$W/gapc.req" alice@example.com "$CSR"
cp "$W/pin.req" "$W/seed-issue.xml"
cp "$W/gapc.req" "$W/seed-gapc.xml"
rm -f "$PUB/alice@example.com.pem"
req gapc POST "$AUTH_URL" "$ACT_GAPC" "$W/gapc.req"
check "GetAndPublishCert: 200" [ "$CODE" = 200 ]
check "GetAndPublishCert: certificate under RequestedSecurityToken" issued gapc
check "issued certificate chains to the OCS Signing CA" quiet openssl verify -CAfile "$P/ocs-ca.crt" "$W/gapc.crt"
check "issued certificate: CN = Entity" \
	[ "$(openssl x509 -in "$W/gapc.crt" -noout -subject -nameopt RFC2253)" = "subject=CN=alice@example.com" ]
check "issued certificate: SAN sip URI" contains "$(openssl x509 -in "$W/gapc.crt" -noout -ext subjectAltName)" "URI:sip:alice@example.com"
check "issued certificate: clientAuth" contains "$(openssl x509 -in "$W/gapc.crt" -noout -ext extendedKeyUsage)" "Client Authentication"
check "issued certificate: our key" [ "$(openssl x509 -in "$W/gapc.crt" -noout -pubkey)" = "$(openssl pkey -in "$W/alice@example.com.key" -pubout)" ]
check "issued certificate: valid 180 days" silent openssl x509 -in "$W/gapc.crt" -noout -checkend $((179 * 86400))
check "issued certificate published as alice@example.com.pem" \
	cmp -s <(openssl x509 -in "$PUB/alice@example.com.pem" -outform DER) <(openssl x509 -in "$W/gapc.crt" -outform DER)
P7=$(xp gapc "//$(el RequestSecurityTokenResponse)/$(el BinarySecurityToken)[contains(@ValueType,'#PKCS7')]")
check "PKCS#7 chain beside it: issued + OCS CA" \
	[ "$(printf '%s' "$P7" | base64 -d | openssl pkcs7 -inform DER -print_certs 2>/dev/null | grep -c '^subject=')" = 2 ]
check "DispositionMessage Issued" [ "$(xp gapc "//$(el DispositionMessage)")" = Issued ]
CERTSTATS=$(stats '.last_cert | "\(.csr_max_line) \(.csr_line_breaks) \(.device_id) \(.entity) \(.wsa_ok)"')
check "stats: CSR wrapped at 76 with CRLF, DeviceId and Entity recorded ($CERTSTATS)" \
	[ "$CERTSTATS" = "76 crlf {8D5E2C1A-3F4B-4C6D-9E8F-0A1B2C3D4E5F} alice@example.com true" ]
# the same ticket twice: a ticket is reusable until it expires
req gapc2 POST "$AUTH_URL" "$ACT_GAPC" "$W/gapc.req"
check "the ticket is reusable (a second GetAndPublishCert 200)" [ "$CODE" = 200 ]
# the service URL itself takes the POST too
req gapc3 POST "$CP" "$ACT_GAPC" "$W/gapc.req"
check "POST on the bare service URL works too" [ "$CODE" = 200 ]

# ---- the signature is really checked ----
for m in badsig nosig badref; do
	gapc_body "$W/g-$m.req" alice@example.com "$CSR" $m
	req "g-$m" POST "$AUTH_URL" "$ACT_GAPC" "$W/g-$m.req"
	check "signature $m: 401" [ "$CODE" = 401 ]
	check "signature $m: X-Ms-diagnostics 28020" [ "$(diag_id "g-$m")" = 28020 ]
	check "signature $m: reason names the signature" contains "$(hdr "g-$m" X-Ms-diagnostics)" 'signature is not valid'
done
gapc_body "$W/g-exp.req" alice@example.com "$CSR" expiredts
req g-exp POST "$AUTH_URL" "$ACT_GAPC" "$W/g-exp.req"
check "expired timestamp: 401" [ "$CODE" = 401 ]
check "expired timestamp: reason" contains "$(hdr g-exp X-Ms-diagnostics)" 'timestamp has expired'
SAVED_AID=$AID
AID=SamlSecurityToken-00000000-0000-4000-8000-000000000000
gapc_body "$W/g-unk.req" alice@example.com "$CSR"
AID=$SAVED_AID
req g-unk POST "$AUTH_URL" "$ACT_GAPC" "$W/g-unk.req"
check "unknown ticket: 401 28020 No valid security token." \
	[ "$CODE $(hdr g-unk X-Ms-diagnostics)" = "401 28020;source=\"pool1.example.com\";reason=\"No valid security token.\";fault=\"wsse:InvalidSecurityToken\"" ]
check "unknown ticket: OCSDiagnosticsFault 28020" [ "$(fault_id g-unk)" = 28020 ]
gapc_body "$W/g-nowsa.req" alice@example.com "$CSR" nowsa
req g-nowsa POST "$AUTH_URL" "$ACT_GAPC" "$W/g-nowsa.req"
check "no wsa:MessageID: 500 MessageAddressingHeaderRequired" \
	[ "$CODE $(xp g-nowsa "//faultcode")" = "500 a:MessageAddressingHeaderRequired" ]
req g-noact POST "$AUTH_URL" "http://example.com/Other" "$W/gapc.req"
check "wrong SOAPAction: 500 ActionNotSupported" [ "$CODE $(xp g-noact "//faultcode")" = "500 a:ActionNotSupported" ]
gapc_body "$W/g-ent.req" bob@example.com "$CSR"
req g-ent POST "$AUTH_URL" "$ACT_GAPC" "$W/g-ent.req"
check "Entity of another user: ErrorInfo EntityMismatch" [ "$CODE $(xp g-ent "//$(el ErrorInfo)/$(el Code)")" = "200 EntityMismatch" ]
gapc_body "$W/g-cn.req" alice@example.com "$(csr carol@example.com)"
req g-cn POST "$AUTH_URL" "$ACT_GAPC" "$W/g-cn.req"
check "CSR CN not the Entity: ErrorInfo EntityMismatch" [ "$(xp g-cn "//$(el ErrorInfo)/$(el Code)")" = EntityMismatch ]
gapc_body "$W/g-bad.req" alice@example.com "TUlJQ2JhZA=="
req g-bad POST "$AUTH_URL" "$ACT_GAPC" "$W/g-bad.req"
check "garbage CSR: ErrorInfo InvalidRequest" [ "$(xp g-bad "//$(el ErrorInfo)/$(el Code)")" = InvalidRequest ]

# ---- other credential forms ----
ticket pinplain "$PIN_URL" "+14255550100" "$PIN"
check "PIN ticket, plain text (not base64): 200" [ "$CODE" = 200 ]
ticket pinext "$WT/Auth" "$(b64 1234)" "$(b64 $PIN)"
check "PIN ticket by extension on /Auth: 200" [ "$CODE" = 200 ]
check "stats: extension" [ "$(stats '.last_issue.phone_or_ext')" = ext ]
ticket ut "$WT/Auth" "$(b64 sip:alice@example.com)" "$(b64 "$PASSWORD")" noentropy
check "UsernameToken (password) ticket without entropy: 200" [ "$CODE" = 200 ]
check "UsernameToken ticket: key in RequestedProofToken" [ ${#KEY_HEX} = 64 ]
gapc_body "$W/g-ut.req" alice@example.com "$CSR"
req g-ut POST "$AUTH_URL" "$ACT_GAPC" "$W/g-ut.req"
check "GetAndPublishCert with the UsernameToken ticket: 200" [ "$CODE" = 200 ]
ticket utpin "$WT/Pin" "alice@example.com" "$PASSWORD"
check "a password on the PIN port: 400 28020" [ "$CODE $(fault_id utpin)" = "400 28020" ]
ticket nego "$WT/WinNegotiate" x y
check "WinNegotiate stub: 401 Negotiate" [ "$CODE" = 401 ] && check "WinNegotiate: WWW-Authenticate" grep -qi '^WWW-Authenticate: Negotiate' "$W/nego.hdr"
req noaction POST "$PIN_URL" "" "$W/pin.req"
check "IssueToken without SOAPAction: 500 ActionNotSupported" [ "$CODE $(xp noaction //faultcode)" = "500 a:ActionNotSupported" ]

ticket erin "$PIN_URL" "$(b64 +14255550104)" "$(b64 3333)"
check "shared number, PIN 3333: erin's ticket" body_has erin '>sip:erin@example.com<'
ticket frank "$PIN_URL" "$(b64 +14255550104)" "$(b64 4444)"
check "shared number, PIN 4444: frank's ticket" body_has frank '>sip:frank@example.com<'
CODE=$(curl -sS --max-time 5 -o "$W/ct.body" -w '%{http_code}' --cacert "$P/root.crt" -H "SOAPAction: \"$ACT_ISSUE\"" \
	-H 'Content-Type: application/soap+xml' --data-binary "@$W/pin.req" "$PIN_URL")
check "IssueToken as application/soap+xml: 415" [ "$CODE" = 415 ]

# ---- PIN failures ----
ticket wrongpin "$PIN_URL" "$(b64 +14255550102)" "$(b64 9999)"
check "wrong PIN: 400" [ "$CODE" = 400 ]
check "wrong PIN: X-Ms-diagnostics 28020" [ "$(hdr wrongpin X-Ms-diagnostics)" = '28020;source="pool1.example.com";reason="No valid security token.";fault="wsse:FailedAuthentication"' ]
check "wrong PIN: OCSDiagnosticsFault 28020 + reason" \
	[ "$(fault_id wrongpin) $(xp wrongpin "//$(el Reason)")" = "28020 No valid security token." ]
ticket unknown "$PIN_URL" "$(b64 +19999999999)" "$(b64 1111)"
check "unknown phone: 400 28020" [ "$CODE $(fault_id unknown)" = "400 28020" ]
ticket wrongpin2 "$PIN_URL" "$(b64 +14255550102)" "$(b64 9998)"
ticket wrongpin3 "$PIN_URL" "$(b64 +14255550102)" "$(b64 9997)"
ticket lockedright "$PIN_URL" "$(b64 +14255550102)" "$(b64 1111)"
check "3 wrong PINs lock the user: the right PIN gets 400 28020 'locked'" \
	[ "$CODE $(fault_id lockedright)" = "400 28020" ] && check "lockout reason" contains "$(xp lockedright "//$(el Reason)")" locked
check "stats: one locked user" [ "$(stats .locked_users)" = 1 ]
ticket notsip "$PIN_URL" "$(b64 +14255550103)" "$(b64 2222)"
check "k-notsip user: 403 28000 User is not SIP enabled." \
	[ "$CODE $(diag_id notsip) $(xp notsip "//$(el Reason)")" = "403 28000 User is not SIP enabled." ]

# ---- knobs by URL prefix ----
K() { printf 'https://127.0.0.1:%s/k-%s' $HTTPS "$1"; }
req k-anondown GET "http://127.0.0.1:$ANON/k-anondown/CertProv/CertProvisioningService.svc"
check "anondown: 503" [ "$CODE" = 503 ]
req k-mex404 GET "$(K mex404)/CertProv/CertProvisioningService.svc/mex"
check "mex404: CertProv /mex 404" [ "$CODE" = 404 ]
req k-mex404b GET "$(K mex404)/WebTicket/WebTicketService.svc/mex"
check "mex404: WebTicket /mex 404" [ "$CODE" = 404 ]
req k-nopol GET "$(K mexnopolicy)/CertProv/CertProvisioningService.svc/mex"
check "mexnopolicy: 200 without the policy" [ "$CODE" = 200 ] && check "mexnopolicy: no policy Id" not body_has k-nopol 'Id="CertProvisioningServiceWebTicketProof_SHA1_policy"'
req k-nopinmex GET "$(K nopin)/WebTicket/WebTicketService.svc/mex"
check "nopin: no PIN port in /mex" not body_has k-nopinmex WebTicketServicePin
req k-mexurls GET "$(K datastore)/CertProv/CertProvisioningService.svc/mex"
check "the prefix stays in the /mex URLs" body_has k-mexurls "$(K datastore)/WebTicket/WebTicketService.svc<"
ticket k-nopin "$(K nopin)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "nopin: 400 28029 Authentication type not allowed." \
	[ "$CODE $(diag_id k-nopin) $(xp k-nopin "//$(el Reason)")" = "400 28029 Authentication type not allowed." ]
ticket k-pinmm "$(K pinmismatch)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "pinmismatch: 400 28020 with the right PIN" [ "$CODE $(fault_id k-pinmm)" = "400 28020" ]
ticket k-pinlock "$(K pinlock)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "pinlock: 400 28020 locked" [ "$CODE $(fault_id k-pinlock)" = "400 28020" ] && check "pinlock: reason" contains "$(xp k-pinlock "//$(el Reason)")" locked
ticket k-notsip "$(K notsip)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "notsip: 403 28000" [ "$CODE $(diag_id k-notsip)" = "403 28000" ]
ticket k-wt503 "$(K wt503)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "wt503: 503 empty" [ "$CODE $(wc -c <"$W/k-wt503.body")" = "503 0" ]
ticket k-wtgarbage "$(K wtgarbage)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "wtgarbage: 200 not XML" [ "$CODE" = 200 ] && check "wtgarbage: not XML" not silent xmllint --noout "$W/k-wtgarbage.body"
issue_body "$W/stall.req" "$(b64 +14255550100)" "$(b64 $PIN)"
t0=$(date +%s%N)
CODE=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 1 --cacert "$P/root.crt" -H "SOAPAction: \"$ACT_ISSUE\"" \
	--data-binary "@$W/stall.req" "$(K wtstall)/WebTicket/WebTicketService.svc/Pin" 2>/dev/null)
check "wtstall: no answer within 1 s (curl timeout)" [ "$CODE" = 000 ]
ticket k-short "$(K shortticket)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
check "shortticket: lifetime 90 s" [ $(($(date -d "$EXPIRES" +%s) - $(date -d "$CREATED" +%s))) = 90 ]

# GetAndPublishCert knobs: a ticket from the prefixed Web Ticket URL, then the prefixed CertProv
# gk MODE: $W/gk-MODE.body, $CODE
gk() {
	ticket "gkt-$1" "$(K "$1")/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
	gapc_body "$W/gk-$1.req" alice@example.com "$CSR"
	req "gk-$1" POST "$(K "$1")/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1" "$ACT_GAPC" "$W/gk-$1.req"
}
rm -f "$PUB/alice@example.com.pem"
gk datastore
check "datastore: 200 + ErrorInfo DataStoreUnavailable" [ "$CODE $(xp gk-datastore "//$(el ErrorInfo)/$(el Code)")" = "200 DataStoreUnavailable" ]
check "datastore: no certificate" not issued gk-datastore
check "datastore: nothing published" [ ! -e "$PUB/alice@example.com.pem" ]
gk ticketreject
check "ticketreject: 401 + X-Ms-diagnostics 28020" [ "$CODE $(diag_id gk-ticketreject)" = "401 28020" ]
gk soapfault
check "soapfault: 500 OCSDiagnosticsFault 28001" [ "$CODE $(fault_id gk-soapfault)" = "500 28001" ]
gk http500
check "http500: 500 text/plain" [ "$CODE $(hdr gk-http500 Content-Type)" = "500 text/plain" ]
gk cp503
check "cp503: 503" [ "$CODE" = 503 ]
gk garbage
check "garbage: 200, not XML" [ "$CODE" = 200 ] && check "garbage: not XML" not silent xmllint --noout "$W/gk-garbage.body"
gk oversized
check "oversized: 200, 4 MiB" [ "$CODE" = 200 ] && check "oversized: > 4 000 000 bytes" [ "$(wc -c <"$W/gk-oversized.body")" -gt 4000000 ]
gk deep
check "deep: 200, 10000 levels" [ "$CODE" = 200 ] && check "deep: depth" [ "$(grep -o '<a>' "$W/gk-deep.body" | wc -l)" = 10000 ]
gk shortcert
check "shortcert: issued" issued gk-shortcert && check "shortcert: expires within 1 h" not silent openssl x509 -in "$W/gk-shortcert.crt" -noout -checkend 3600
check "shortcert: valid now" silent openssl x509 -in "$W/gk-shortcert.crt" -noout -checkend 600
gk wrongentity
check "wrongentity: CN mallory" issued gk-wrongentity && check "wrongentity: subject" \
	[ "$(openssl x509 -in "$W/gk-wrongentity.crt" -noout -subject -nameopt RFC2253)" = "subject=CN=mallory@example.com" ]
gk wrongkey
check "wrongkey: another key" issued gk-wrongkey && check "wrongkey: key differs" \
	[ "$(openssl x509 -in "$W/gk-wrongkey.crt" -noout -pubkey)" != "$(openssl pkey -in "$W/alice@example.com.key" -pubout)" ]
gk badder
check "badder: token not DER" [ "$CODE" = 200 ] && check "badder: no certificate decodes" not issued gk-badder
t0=$(date +%s%N)
gk slow-1500
t1=$(date +%s%N)
check "slow-1500: 200 after >= 1.5 s" [ "$CODE" = 200 ] && check "slow-1500: took $(((t1 - t0) / 1000000)) ms (>= 1500 for each of the 2 calls)" [ $(((t1 - t0) / 1000000)) -ge 3000 ]
issued gk-slow-1500
t0=$(date +%s%N)
CODE=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 1 --cacert "$P/root.crt" -H "SOAPAction: \"$ACT_GAPC\"" \
	--data-binary "@$W/gapc.req" "$(K cpstall)/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1" 2>/dev/null)
check "cpstall: no answer within 1 s" [ "$CODE" = 000 ]
check "the double still answers while replies stall" [ "$(curl -s --max-time 2 --cacert "$P/root.crt" -o /dev/null -w '%{http_code}' "$CP/mex")" = 200 ]

# bearer: the policy says SignedSupportingTokens and an unsigned request is enough
req k-bearermex GET "$(K bearer)/CertProv/CertProvisioningService.svc/mex"
check "bearer: /mex has SignedSupportingTokens" body_has k-bearermex '<sp:SignedSupportingTokens>'
check "bearer: and no EndorsingSupportingTokens" not body_has k-bearermex EndorsingSupportingTokens
ticket k-bearer "$(K bearer)/WebTicket/WebTicketService.svc/Pin" "$(b64 +14255550100)" "$(b64 $PIN)"
gapc_body "$W/gk-bearer.req" alice@example.com "$CSR" nosig
req gk-bearer POST "$(K bearer)/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1" "$ACT_GAPC" "$W/gk-bearer.req"
check "bearer: GetAndPublishCert without a signature: 200 + certificate" issued gk-bearer

# a per-user mode (bob: mode=datastore)
ticket bob "$PIN_URL" "$(b64 +14255550101)" "$(b64 4321)"
gapc_body "$W/g-bob.req" bob@example.com "$(csr bob@example.com)"
req g-bob POST "$AUTH_URL" "$ACT_GAPC" "$W/g-bob.req"
check "user mode=datastore: ErrorInfo" [ "$(xp g-bob "//$(el ErrorInfo)/$(el Code)")" = DataStoreUnavailable ]

# ---- TLS listeners ----
tls_verify() { # PORT -> openssl's verify result code against the phone's root
	timeout 10 openssl s_client -connect "127.0.0.1:$1" -CAfile "$P/root.crt" -verify_hostname "${2:-pool1.example.com}" </dev/null 2>/dev/null |
		sed -n 's/^ *Verify return code: \([0-9]*\).*/\1/p' | head -1
}
certs_sent() { timeout 10 openssl s_client -connect "127.0.0.1:$1" -showcerts </dev/null 2>/dev/null | grep -c 'BEGIN CERT'; }
check "main listener: verifies against the phone root (0)" [ "$(tls_verify $HTTPS)" = 0 ]
check "main listener: sends leaf + issuing CA" [ "$(certs_sent $HTTPS)" = 2 ]
check "leaf-only listener: one certificate" [ "$(certs_sent $LEAF)" = 1 ]
LEAF_RC=$(tls_verify $LEAF)
check "leaf-only listener: the phone cannot verify it alone ($LEAF_RC: 20 or 21)" contains " 20 21 " " $LEAF_RC "
check "expired listener: certificate has expired (10)" [ "$(tls_verify $EXPIRED)" = 10 ]
check "wrong-name listener: hostname mismatch (62)" [ "$(tls_verify $WRONGNAME)" = 62 ]
check "not-yet-valid listener: certificate is not yet valid (9)" [ "$(tls_verify $NOTYET)" = 9 ]
check "leaf-only listener serves the same service" \
	[ "$(curl -s -k --max-time 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$LEAF/CertProv/CertProvisioningService.svc/mex")" = 200 ]

# ---- what it publishes is what the TLS-DSK registrar double accepts ----
# a fresh enrollment for alice, then certprobe's client-auth (tls-dsk) with that
# certificate against tests/peers/tlsdsk_registrar reading the same --published-dir with
# this OCS Signing CA as its --ca; after a re-enrollment with another key the first
# certificate is no longer the published one and the registrar refuses it.
. "$SRCDIR/tests/lab/sip-lab.sh"
sip_lab_pki "$LAB/rig" >/dev/null && "$SRCDIR/tests/peers/tlsdsk_registrar/tlsdsk-pki.sh" "$LAB/dsk" "$LAB/rig" ||
	{ echo "FAIL - registrar PKI"; exit 1; }
REG=19510
"$BIN/tlsdsk_registrar" -p $REG -c "$LAB/dsk/registrar-chain.crt" -k "$LAB/dsk/registrar.key" \
	--ca "$P/ocs-ca.crt" --published-dir "$PUB" -v >"$LAB/registrar.out" 2>"$LAB/registrar.log" &
RPID=$!
LAB_PIDS="$LAB_PIDS $RPID"
until_true 10 grep -q '^ready$' "$LAB/registrar.out"
enroll() { # NAME: a PIN ticket, a new key, GetAndPublishCert -> $W/NAME.pem (certificate + key)
	ticket "t-$1" "$PIN_URL" "$(b64 +14255550100)" "$(b64 $PIN)"
	gapc_body "$W/e-$1.req" alice@example.com "$(csr alice@example.com)"
	req "e-$1" POST "$AUTH_URL" "$ACT_GAPC" "$W/e-$1.req"
	issued "e-$1" && cat "$W/e-$1.crt" "$W/alice@example.com.key" >"$W/$1.pem"
}
logon_yaml() { # FILE IDENTITY
	cat >"$1" <<EOF
probe: {state_dir: $LAB/state}
defaults: {timeout: 5s}
transactions:
  - name: logon
    type: client-auth
    auth: tls-dsk
    registrar: {host: 127.0.0.1, port: $REG}
    sip_uri: sip:alice@example.com
    certificate: {cert: $2, key: $2}
    trust_store: $LAB/rig/trust.pem
EOF
}
check "enrollment for the registrar: issued" enroll first
logon_yaml "$LAB/logon1.yaml" "$W/first.pem"
probe "$LAB/logon1.yaml"
check "registrar double accepts the published certificate (certprobe client-auth tls-dsk: ok)" [ "$(field status)" = ok ]
check "enrollment with another key: issued" enroll second
probe "$LAB/logon1.yaml"
check "the replaced certificate is refused: $(field status)" [ "$(field status)" = registrar_dsk_cert_rejected ]
logon_yaml "$LAB/logon2.yaml" "$W/second.pem"
probe "$LAB/logon2.yaml"
check "the new one is accepted" [ "$(field status)" = ok ]
PROBED=0
kill "$RPID"
wait "$RPID"
check "tlsdsk_registrar: exit 0" [ $? = 0 ]

# ---- no secret in the log; SIGTERM exits 0 ----
check "log: one line per request" grep -q 'op=GetAndPublishCert user=sip:alice@example.com mode=ok -> 200 certificate issued' "$LAB/double.log"
leak=0
for s in "$PIN" "$(b64 $PIN)" "$PASSWORD" "$AID" "$KEY_HEX" "$CE_B64" "9999"; do
	grep -qF -- "$s" "$LAB/double.log" && { leak=1; echo "       leaked: ${s:0:6}..."; }
done
check "log: no PIN, password, ticket, entropy or key" [ $leak = 0 ]
kill "$DPID"
wait "$DPID"
check "SIGTERM: exit 0 with stalled replies pending (ASan-clean)" [ $? = 0 ]
check "no sanitizer report" not grep -q 'Sanitizer' "$LAB/double.log"

# anonymous HTTP down for real: no -a listener
"$BIN/certprov_double" -p $HTTPS -c "$P/server-chain.pem" -k "$P/server.key" --chain "$P/chain.pem" \
	--ocs-cert "$P/ocs-ca.crt" --ocs-key "$P/ocs-ca.key" --published-dir "$PUB" >"$LAB/d2.out" 2>>"$LAB/double.log" &
D2=$!
LAB_PIDS="$LAB_PIDS $D2"
until_true 10 grep -q '^ready$' "$LAB/d2.out"
check "without -a: the anonymous URL refuses connections" \
	[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ANON/CertProv/CertProvisioningService.svc")" = 000 ]
kill "$D2"
wait "$D2"
check "second instance: exit 0" [ $? = 0 ]

[ -n "${CERTPROV_SEEDS:-}" ] && cp "$W/seed-issue.xml" "$W/seed-gapc.xml" "$CERTPROV_SEEDS"/
finish
