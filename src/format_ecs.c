/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Events as Elastic Common Schema documents, finished the way Elastic's
 * own Sysmon mapping finishes them: Winlogbeat's shipper stage (the
 * winlog.* envelope) followed by its "sysmon" ingest pipeline
 * (x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml, elastic/beats
 * 00bd2bd9; see /work/shared/docs/ecs-sysmon.md sections 3-6). The
 * documents need no ingest pipeline (route (b) of ecs-sysmon.md 10), and
 * carry host.os.type and event.ingested, which Elastic's detection rules
 * read but the pipeline does not set. Events of other channels get the
 * shipper-stage envelope with every EventData field. docs/formats.md lists
 * the result field by field.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dns.h"
#include "err.h"
#include "event.h"
#include "format.h"
#include "json.h"
#include "spool.h"

#define ECS_VERSION	"8.0.0"
#define ECS_SYSMON_CHANNEL "Microsoft-Windows-Sysmon/Operational"
#define ECS_ZERO_GUID	"{00000000-0000-0000-0000-000000000000}"

/* A growable list of borrowed or arena strings. */
struct ecs_list {
	const char	**v;
	size_t		  n, cap;
};

struct ecs_kv {
	const char	*k, *v;
};

/* A Windows command line split CommandLineToArgvW-style. */
struct ecs_args {
	struct ecs_list	 args;
	bool		 set;
};

struct ecs_proc {
	const char	*entity_id, *executable, *command_line, *working_directory;
	const char	*name;
	int64_t		 pid, thread_id;
	bool		 has_pid, has_thread;
	struct ecs_args	 args;
	/* PE metadata (process.pe, or file.pe for Event ID 7) */
	const char	*pe_original, *pe_company, *pe_description, *pe_version, *pe_product;
};

struct ecs_endpoint {
	const char	*ip, *domain;
	int64_t		 port;
	bool		 has_port;
};

/* EventData fields whose per-field state fits in the document itself
 * (Sysmon events have up to about 30); more are malloc'd. */
#define ECS_FIELDS_INLINE 64

/* Everything the document will hold, computed before writing. */
struct ecs_doc {
	const struct event *ev;
	bool		*used;		/* per EventData field: consumed */
	bool		*empty;		/* per EventData field: removed as empty */
	uint32_t	*key;		/* per EventData field: ecs_key() of its name */
	bool		 used_s[ECS_FIELDS_INLINE], empty_s[ECS_FIELDS_INLINE];
	uint32_t	 key_s[ECS_FIELDS_INLINE];
	struct ecs_list	 arena;		/* malloc'd strings to free */

	int64_t		 timestamp;
	const char	*rule_name;
	const char	*error_code, *message;
	struct ecs_kv	 hashes[16];
	size_t		 nhashes;
	bool		 hashes_to_file;
	const char	*imphash;
	struct ecs_proc	 proc, parent;
	struct {
		const char *path, *name, *directory, *extension;
		const char *sig_subject, *sig_status;
		bool	 valid;
		const char *pe_original, *pe_company, *pe_description, *pe_version, *pe_product;
	} file;
	const char	*net_transport, *net_protocol, *net_direction, *net_type;
	char		 community_id[40];
	struct ecs_endpoint src, dst;
	const char	*qname;
	struct ecs_list	 ans_type, ans_data, resolved;
	char		 regdom[DNS_NAME_MAX], tld[DNS_NAME_MAX], subdomain[DNS_NAME_MAX];
	const char	*dns_status;
	int		 archived, is_executable;	/* -1 absent, 0, 1 */
	const char	*user_id, *user_name, *user_domain;
	struct ecs_list	 rel_user, rel_ip, rel_hosts, rel_hash;
	struct {
		const char *path, *hive, *key, *value, *data, *type;
	} reg;
	bool		 reg_set;
};

static const struct {
	uint32_t	 id;
	const char	*category[2];
	const char	*type[3];
	const char	*outcome;
	const char	*action;
} ecs_sysmon_events[] = {
	/* sysmon.yml "Add ECS categorization fields" (ecs-sysmon.md 3.3) */
	{ 1, { "process" }, { "start" }, NULL, "Process creation" },
	{ 2, { "file" }, { "change" }, NULL, "A process changed a file creation time" },
	{ 3, { "network" }, { "start", "connection", "protocol" }, NULL, "Network connection" },
	{ 4, { "process" }, { "change" }, NULL, "Sysmon service state changed" },
	{ 5, { "process" }, { "end" }, NULL, "Process terminated" },
	{ 6, { "driver" }, { "start" }, NULL, "Driver loaded" },
	{ 7, { "process" }, { "change" }, NULL, "Image loaded" },
	{ 8, { "process" }, { "change" }, NULL, "CreateRemoteThread" },
	{ 9, { "process" }, { "access" }, NULL, "RawAccessRead" },
	{ 10, { "process" }, { "access" }, NULL, "ProcessAccess" },
	{ 11, { "file" }, { "creation" }, NULL, "FileCreate" },
	{ 12, { "configuration", "registry" }, { "change" }, NULL,
	    "RegistryEvent (Object create and delete)" },
	{ 13, { "configuration", "registry" }, { "change" }, NULL, "RegistryEvent (Value Set)" },
	{ 14, { "configuration", "registry" }, { "change" }, NULL,
	    "RegistryEvent (Key and Value Rename)" },
	{ 15, { "file" }, { "access" }, NULL, "FileCreateStreamHash" },
	{ 16, { "configuration" }, { "change" }, NULL, "ServiceConfigurationChange" },
	{ 17, { "file" }, { "creation" }, NULL, "PipeEvent (Pipe Created)" },
	{ 18, { "file" }, { "access" }, NULL, "PipeEvent (Pipe Connected)" },
	{ 19, { "process" }, { "info" }, NULL, "WmiEvent (WmiEventFilter activity detected)" },
	{ 20, { "process" }, { "change" }, NULL, "WmiEvent (WmiEventConsumer activity detected)" },
	{ 21, { "process" }, { "access" }, NULL,
	    "WmiEvent (WmiEventConsumerToFilter activity detected)" },
	{ 22, { "network" }, { "connection", "protocol", "info" }, NULL, "DNSEvent (DNS query)" },
	{ 23, { "file" }, { "deletion" }, NULL, "FileDelete (File Delete archived)" },
	{ 24, { NULL }, { "change" }, NULL, "ClipboardChange (New content in the clipboard)" },
	{ 25, { "process" }, { "change" }, NULL, "ProcessTampering (Process image change)" },
	{ 26, { "file" }, { "deletion" }, NULL, "FileDeleteDetected (File Delete logged)" },
	{ 27, { "file" }, { "creation" }, "failure", "FileBlockExecutable" },
	{ 28, { "file" }, { "deletion" }, NULL, "FileBlockShredding" },
	{ 29, { "file" }, { "creation" }, NULL, "FileExecutableDetected" },
	{ 255, { "process" }, { NULL }, "failure", "Error" },
};

/* Windows DNS record types (sysmon.yml QueryResults table). */
static const struct {
	uint16_t	 n;
	const char	*name;
} ecs_rrtypes[] = {
	{ 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" }, { 6, "SOA" },
	{ 7, "MB" }, { 8, "MG" }, { 9, "MR" }, { 10, "NULL" }, { 11, "WKS" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 14, "MINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" },
	{ 18, "AFSDB" }, { 19, "X25" }, { 20, "ISDN" }, { 21, "RT" }, { 22, "NSAP" },
	{ 23, "NSAPPTR" }, { 24, "SIG" }, { 25, "KEY" }, { 26, "PX" }, { 27, "GPOS" },
	{ 28, "AAAA" }, { 29, "LOC" }, { 30, "NXT" }, { 31, "EID" }, { 32, "NIMLOC" },
	{ 33, "SRV" }, { 34, "ATMA" }, { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" },
	{ 38, "A6" }, { 39, "DNAME" }, { 40, "SINK" }, { 41, "OPT" }, { 43, "DS" },
	{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" }, { 100, "UINFO" },
	{ 101, "UID" }, { 102, "GID" }, { 103, "UNSPEC" }, { 248, "ADDRS" }, { 249, "TKEY" },
	{ 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" }, { 254, "MAILA" },
	{ 255, "ANY" }, { 65281, "WINS" }, { 65282, "WINSR" },
};

/* Windows standard opcode names (winmeta defaults, ecs-sysmon.md 3.1). */
static const struct {
	uint32_t	 n;
	const char	*name;
} ecs_opcodes[] = {
	{ 0, "Info" }, { 1, "Start" }, { 2, "Stop" }, { 3, "DCStart" }, { 4, "DCStop" },
	{ 5, "Extension" }, { 6, "Reply" }, { 7, "Resume" }, { 8, "Suspend" }, { 9, "Send" },
	{ 240, "Receive" },
};

/* QueryStatus -> sysmon.dns.status (sysmon.yml "Translate DNS Query status",
 * generated upstream from the Windows error codes; ecs-sysmon.md 6.2). */
static const struct {
	unsigned long	 code;
	const char	*name;
} ecs_dns_status[] = {
	{ 0, "SUCCESS" }, { 5, "ERROR_ACCESS_DENIED" },
	{ 8, "ERROR_NOT_ENOUGH_MEMORY" }, { 13, "ERROR_INVALID_DATA" },
	{ 14, "ERROR_OUTOFMEMORY" }, { 123, "ERROR_INVALID_NAME" },
	{ 1214, "ERROR_INVALID_NETNAME" }, { 1223, "ERROR_CANCELLED" },
	{ 1460, "ERROR_TIMEOUT" }, { 4312, "ERROR_OBJECT_NOT_FOUND" },
	{ 9001, "DNS_ERROR_RCODE_FORMAT_ERROR" },
	{ 9002, "DNS_ERROR_RCODE_SERVER_FAILURE" },
	{ 9003, "DNS_ERROR_RCODE_NAME_ERROR" },
	{ 9004, "DNS_ERROR_RCODE_NOT_IMPLEMENTED" },
	{ 9005, "DNS_ERROR_RCODE_REFUSED" },
	{ 9006, "DNS_ERROR_RCODE_YXDOMAIN" },
	{ 9007, "DNS_ERROR_RCODE_YXRRSET" },
	{ 9008, "DNS_ERROR_RCODE_NXRRSET" },
	{ 9009, "DNS_ERROR_RCODE_NOTAUTH" },
	{ 9010, "DNS_ERROR_RCODE_NOTZONE" },
	{ 9016, "DNS_ERROR_RCODE_BADSIG" }, { 9017, "DNS_ERROR_RCODE_BADKEY" },
	{ 9018, "DNS_ERROR_RCODE_BADTIME" },
	{ 9101, "DNS_ERROR_KEYMASTER_REQUIRED" },
	{ 9102, "DNS_ERROR_NOT_ALLOWED_ON_SIGNED_ZONE" },
	{ 9103, "DNS_ERROR_NSEC3_INCOMPATIBLE_WITH_RSA_SHA1" },
	{ 9104, "DNS_ERROR_NOT_ENOUGH_SIGNING_KEY_DESCRIPTORS" },
	{ 9105, "DNS_ERROR_UNSUPPORTED_ALGORITHM" },
	{ 9106, "DNS_ERROR_INVALID_KEY_SIZE" },
	{ 9107, "DNS_ERROR_SIGNING_KEY_NOT_ACCESSIBLE" },
	{ 9108, "DNS_ERROR_KSP_DOES_NOT_SUPPORT_PROTECTION" },
	{ 9109, "DNS_ERROR_UNEXPECTED_DATA_PROTECTION_ERROR" },
	{ 9110, "DNS_ERROR_UNEXPECTED_CNG_ERROR" },
	{ 9111, "DNS_ERROR_UNKNOWN_SIGNING_PARAMETER_VERSION" },
	{ 9112, "DNS_ERROR_KSP_NOT_ACCESSIBLE" },
	{ 9113, "DNS_ERROR_TOO_MANY_SKDS" },
	{ 9114, "DNS_ERROR_INVALID_ROLLOVER_PERIOD" },
	{ 9115, "DNS_ERROR_INVALID_INITIAL_ROLLOVER_OFFSET" },
	{ 9116, "DNS_ERROR_ROLLOVER_IN_PROGRESS" },
	{ 9117, "DNS_ERROR_STANDBY_KEY_NOT_PRESENT" },
	{ 9118, "DNS_ERROR_NOT_ALLOWED_ON_ZSK" },
	{ 9119, "DNS_ERROR_NOT_ALLOWED_ON_ACTIVE_SKD" },
	{ 9120, "DNS_ERROR_ROLLOVER_ALREADY_QUEUED" },
	{ 9121, "DNS_ERROR_NOT_ALLOWED_ON_UNSIGNED_ZONE" },
	{ 9122, "DNS_ERROR_BAD_KEYMASTER" },
	{ 9123, "DNS_ERROR_INVALID_SIGNATURE_VALIDITY_PERIOD" },
	{ 9124, "DNS_ERROR_INVALID_NSEC3_ITERATION_COUNT" },
	{ 9125, "DNS_ERROR_DNSSEC_IS_DISABLED" },
	{ 9126, "DNS_ERROR_INVALID_XML" },
	{ 9127, "DNS_ERROR_NO_VALID_TRUST_ANCHORS" },
	{ 9128, "DNS_ERROR_ROLLOVER_NOT_POKEABLE" },
	{ 9129, "DNS_ERROR_NSEC3_NAME_COLLISION" },
	{ 9130, "DNS_ERROR_NSEC_INCOMPATIBLE_WITH_NSEC3_RSA_SHA1" },
	{ 9501, "DNS_INFO_NO_RECORDS" }, { 9502, "DNS_ERROR_BAD_PACKET" },
	{ 9503, "DNS_ERROR_NO_PACKET" }, { 9504, "DNS_ERROR_RCODE" },
	{ 9505, "DNS_ERROR_UNSECURE_PACKET" }, { 9506, "DNS_REQUEST_PENDING" },
	{ 9551, "DNS_ERROR_INVALID_TYPE" },
	{ 9552, "DNS_ERROR_INVALID_IP_ADDRESS" },
	{ 9553, "DNS_ERROR_INVALID_PROPERTY" },
	{ 9554, "DNS_ERROR_TRY_AGAIN_LATER" },
	{ 9555, "DNS_ERROR_NOT_UNIQUE" }, { 9556, "DNS_ERROR_NON_RFC_NAME" },
	{ 9557, "DNS_STATUS_FQDN" }, { 9558, "DNS_STATUS_DOTTED_NAME" },
	{ 9559, "DNS_STATUS_SINGLE_PART_NAME" },
	{ 9560, "DNS_ERROR_INVALID_NAME_CHAR" },
	{ 9561, "DNS_ERROR_NUMERIC_NAME" },
	{ 9562, "DNS_ERROR_NOT_ALLOWED_ON_ROOT_SERVER" },
	{ 9563, "DNS_ERROR_NOT_ALLOWED_UNDER_DELEGATION" },
	{ 9564, "DNS_ERROR_CANNOT_FIND_ROOT_HINTS" },
	{ 9565, "DNS_ERROR_INCONSISTENT_ROOT_HINTS" },
	{ 9566, "DNS_ERROR_DWORD_VALUE_TOO_SMALL" },
	{ 9567, "DNS_ERROR_DWORD_VALUE_TOO_LARGE" },
	{ 9568, "DNS_ERROR_BACKGROUND_LOADING" },
	{ 9569, "DNS_ERROR_NOT_ALLOWED_ON_RODC" },
	{ 9570, "DNS_ERROR_NOT_ALLOWED_UNDER_DNAME" },
	{ 9571, "DNS_ERROR_DELEGATION_REQUIRED" },
	{ 9572, "DNS_ERROR_INVALID_POLICY_TABLE" },
	{ 9573, "DNS_ERROR_ADDRESS_REQUIRED" },
	{ 9601, "DNS_ERROR_ZONE_DOES_NOT_EXIST" },
	{ 9602, "DNS_ERROR_NO_ZONE_INFO" },
	{ 9603, "DNS_ERROR_INVALID_ZONE_OPERATION" },
	{ 9604, "DNS_ERROR_ZONE_CONFIGURATION_ERROR" },
	{ 9605, "DNS_ERROR_ZONE_HAS_NO_SOA_RECORD" },
	{ 9606, "DNS_ERROR_ZONE_HAS_NO_NS_RECORDS" },
	{ 9607, "DNS_ERROR_ZONE_LOCKED" },
	{ 9608, "DNS_ERROR_ZONE_CREATION_FAILED" },
	{ 9609, "DNS_ERROR_ZONE_ALREADY_EXISTS" },
	{ 9610, "DNS_ERROR_AUTOZONE_ALREADY_EXISTS" },
	{ 9611, "DNS_ERROR_INVALID_ZONE_TYPE" },
	{ 9612, "DNS_ERROR_SECONDARY_REQUIRES_MASTER_IP" },
	{ 9613, "DNS_ERROR_ZONE_NOT_SECONDARY" },
	{ 9614, "DNS_ERROR_NEED_SECONDARY_ADDRESSES" },
	{ 9615, "DNS_ERROR_WINS_INIT_FAILED" },
	{ 9616, "DNS_ERROR_NEED_WINS_SERVERS" },
	{ 9617, "DNS_ERROR_NBSTAT_INIT_FAILED" },
	{ 9618, "DNS_ERROR_SOA_DELETE_INVALID" },
	{ 9619, "DNS_ERROR_FORWARDER_ALREADY_EXISTS" },
	{ 9620, "DNS_ERROR_ZONE_REQUIRES_MASTER_IP" },
	{ 9621, "DNS_ERROR_ZONE_IS_SHUTDOWN" },
	{ 9622, "DNS_ERROR_ZONE_LOCKED_FOR_SIGNING" },
	{ 9651, "DNS_ERROR_PRIMARY_REQUIRES_DATAFILE" },
	{ 9652, "DNS_ERROR_INVALID_DATAFILE_NAME" },
	{ 9653, "DNS_ERROR_DATAFILE_OPEN_FAILURE" },
	{ 9654, "DNS_ERROR_FILE_WRITEBACK_FAILED" },
	{ 9655, "DNS_ERROR_DATAFILE_PARSING" },
	{ 9701, "DNS_ERROR_RECORD_DOES_NOT_EXIST" },
	{ 9702, "DNS_ERROR_RECORD_FORMAT" },
	{ 9703, "DNS_ERROR_NODE_CREATION_FAILED" },
	{ 9704, "DNS_ERROR_UNKNOWN_RECORD_TYPE" },
	{ 9705, "DNS_ERROR_RECORD_TIMED_OUT" },
	{ 9706, "DNS_ERROR_NAME_NOT_IN_ZONE" },
	{ 9707, "DNS_ERROR_CNAME_LOOP" }, { 9708, "DNS_ERROR_NODE_IS_CNAME" },
	{ 9709, "DNS_ERROR_CNAME_COLLISION" },
	{ 9710, "DNS_ERROR_RECORD_ONLY_AT_ZONE_ROOT" },
	{ 9711, "DNS_ERROR_RECORD_ALREADY_EXISTS" },
	{ 9712, "DNS_ERROR_SECONDARY_DATA" },
	{ 9713, "DNS_ERROR_NO_CREATE_CACHE_DATA" },
	{ 9714, "DNS_ERROR_NAME_DOES_NOT_EXIST" },
	{ 9715, "DNS_WARNING_PTR_CREATE_FAILED" },
	{ 9716, "DNS_WARNING_DOMAIN_UNDELETED" },
	{ 9717, "DNS_ERROR_DS_UNAVAILABLE" },
	{ 9718, "DNS_ERROR_DS_ZONE_ALREADY_EXISTS" },
	{ 9719, "DNS_ERROR_NO_BOOTFILE_IF_DS_ZONE" },
	{ 9720, "DNS_ERROR_NODE_IS_DNAME" },
	{ 9721, "DNS_ERROR_DNAME_COLLISION" },
	{ 9722, "DNS_ERROR_ALIAS_LOOP" }, { 9751, "DNS_INFO_AXFR_COMPLETE" },
	{ 9752, "DNS_ERROR_AXFR" }, { 9753, "DNS_INFO_ADDED_LOCAL_WINS" },
	{ 9801, "DNS_STATUS_CONTINUE_NEEDED" }, { 9851, "DNS_ERROR_NO_TCPIP" },
	{ 9852, "DNS_ERROR_NO_DNS_SERVERS" },
	{ 9901, "DNS_ERROR_DP_DOES_NOT_EXIST" },
	{ 9902, "DNS_ERROR_DP_ALREADY_EXISTS" },
	{ 9903, "DNS_ERROR_DP_NOT_ENLISTED" },
	{ 9904, "DNS_ERROR_DP_ALREADY_ENLISTED" },
	{ 9905, "DNS_ERROR_DP_NOT_AVAILABLE" },
	{ 9906, "DNS_ERROR_DP_FSMO_ERROR" },
	{ 9911, "DNS_ERROR_RRL_NOT_ENABLED" },
	{ 9912, "DNS_ERROR_RRL_INVALID_WINDOW_SIZE" },
	{ 9913, "DNS_ERROR_RRL_INVALID_IPV4_PREFIX" },
	{ 9914, "DNS_ERROR_RRL_INVALID_IPV6_PREFIX" },
	{ 9915, "DNS_ERROR_RRL_INVALID_TC_RATE" },
	{ 9916, "DNS_ERROR_RRL_INVALID_LEAK_RATE" },
	{ 9917, "DNS_ERROR_RRL_LEAK_RATE_LESSTHAN_TC_RATE" },
	{ 9921, "DNS_ERROR_VIRTUALIZATION_INSTANCE_ALREADY_EXISTS" },
	{ 9922, "DNS_ERROR_VIRTUALIZATION_INSTANCE_DOES_NOT_EXIST" },
	{ 9923, "DNS_ERROR_VIRTUALIZATION_TREE_LOCKED" },
	{ 9924, "DNS_ERROR_INVAILD_VIRTUALIZATION_INSTANCE_NAME" },
	{ 9925, "DNS_ERROR_DEFAULT_VIRTUALIZATION_INSTANCE" },
	{ 9951, "DNS_ERROR_ZONESCOPE_ALREADY_EXISTS" },
	{ 9952, "DNS_ERROR_ZONESCOPE_DOES_NOT_EXIST" },
	{ 9953, "DNS_ERROR_DEFAULT_ZONESCOPE" },
	{ 9954, "DNS_ERROR_INVALID_ZONESCOPE_NAME" },
	{ 9955, "DNS_ERROR_NOT_ALLOWED_WITH_ZONESCOPES" },
	{ 9956, "DNS_ERROR_LOAD_ZONESCOPE_FAILED" },
	{ 9957, "DNS_ERROR_ZONESCOPE_FILE_WRITEBACK_FAILED" },
	{ 9958, "DNS_ERROR_INVALID_SCOPE_NAME" },
	{ 9959, "DNS_ERROR_SCOPE_DOES_NOT_EXIST" },
	{ 9960, "DNS_ERROR_DEFAULT_SCOPE" },
	{ 9961, "DNS_ERROR_INVALID_SCOPE_OPERATION" },
	{ 9962, "DNS_ERROR_SCOPE_LOCKED" },
	{ 9963, "DNS_ERROR_SCOPE_ALREADY_EXISTS" },
	{ 9971, "DNS_ERROR_POLICY_ALREADY_EXISTS" },
	{ 9972, "DNS_ERROR_POLICY_DOES_NOT_EXIST" },
	{ 9973, "DNS_ERROR_POLICY_INVALID_CRITERIA" },
	{ 9974, "DNS_ERROR_POLICY_INVALID_SETTINGS" },
	{ 9975, "DNS_ERROR_CLIENT_SUBNET_IS_ACCESSED" },
	{ 9976, "DNS_ERROR_CLIENT_SUBNET_DOES_NOT_EXIST" },
	{ 9977, "DNS_ERROR_CLIENT_SUBNET_ALREADY_EXISTS" },
	{ 9978, "DNS_ERROR_SUBNET_DOES_NOT_EXIST" },
	{ 9979, "DNS_ERROR_SUBNET_ALREADY_EXISTS" },
	{ 9980, "DNS_ERROR_POLICY_LOCKED" },
	{ 9981, "DNS_ERROR_POLICY_INVALID_WEIGHT" },
	{ 9982, "DNS_ERROR_POLICY_INVALID_NAME" },
	{ 9983, "DNS_ERROR_POLICY_MISSING_CRITERIA" },
	{ 9984, "DNS_ERROR_INVALID_CLIENT_SUBNET_NAME" },
	{ 9985, "DNS_ERROR_POLICY_PROCESSING_ORDER_INVALID" },
	{ 9986, "DNS_ERROR_POLICY_SCOPE_MISSING" },
	{ 9987, "DNS_ERROR_POLICY_SCOPE_NOT_ALLOWED" },
	{ 9988, "DNS_ERROR_SERVERSCOPE_IS_REFERENCED" },
	{ 9989, "DNS_ERROR_ZONESCOPE_IS_REFERENCED" },
	{ 9990, "DNS_ERROR_POLICY_INVALID_CRITERIA_CLIENT_SUBNET" },
	{ 9991, "DNS_ERROR_POLICY_INVALID_CRITERIA_TRANSPORT_PROTOCOL" },
	{ 9992, "DNS_ERROR_POLICY_INVALID_CRITERIA_NETWORK_PROTOCOL" },
	{ 9993, "DNS_ERROR_POLICY_INVALID_CRITERIA_INTERFACE" },
	{ 9994, "DNS_ERROR_POLICY_INVALID_CRITERIA_FQDN" },
	{ 9995, "DNS_ERROR_POLICY_INVALID_CRITERIA_QUERY_TYPE" },
	{ 9996, "DNS_ERROR_POLICY_INVALID_CRITERIA_TIME_OF_DAY" },
	{ 10054, "WSAECONNRESET" }, { 10055, "WSAENOBUFS" },
	{ 10060, "WSAETIMEDOUT" },
};

static uint32_t	ecs_key(const char *, size_t);
static void	ecs_copy(char *, size_t, const char *, size_t);
static int	ecs_list_add(struct ecs_list *, const char *);
static bool	ecs_list_has(const struct ecs_list *, const char *);
static char	*ecs_keep(struct ecs_doc *, char *);
static const char *ecs_peek_k(struct ecs_doc *, const char *, uint32_t);
static const char *ecs_take_k(struct ecs_doc *, const char *, uint32_t);
static void	ecs_drop_k(struct ecs_doc *, const char *, uint32_t);
static bool	ecs_long(const char *, int64_t *);
static bool	ecs_ip_valid(const char *);
static int	ecs_split_args(struct ecs_doc *, const char *, struct ecs_args *);
static const char *ecs_basename(const char *);
static int	ecs_hashes(struct ecs_doc *);
static int	ecs_process(struct ecs_doc *);
static int	ecs_file(struct ecs_doc *);
static void	ecs_network(struct ecs_doc *);
static int	ecs_dns(struct ecs_doc *);
static void	ecs_community_id(struct ecs_doc *);
static bool	ecs_hex8(const char *);
static int	ecs_registry(struct ecs_doc *);
static int	ecs_user_related(struct ecs_doc *);
static int	ecs_map_sysmon(struct ecs_doc *);
static void	ecs_write_list(struct jsonw *, const char *, const struct ecs_list *);
static void	ecs_write_hashes(struct jsonw *, const struct ecs_doc *);
static void	ecs_write_proc(struct jsonw *, const struct ecs_doc *,
		    const struct ecs_proc *, bool);
static void	ecs_write_event(struct jsonw *, const struct ecs_doc *, bool, int64_t);
static void	ecs_write_endpoint(struct jsonw *, const char *,
		    const struct ecs_endpoint *);
static void	ecs_write_front(struct jsonw *, const struct ecs_doc *);
static void	ecs_write_file(struct jsonw *, const struct ecs_doc *);
static void	ecs_write_back(struct jsonw *, const struct ecs_doc *);
static void	ecs_write_winlog(struct jsonw *, const struct ecs_doc *, bool);
static void	ecs_write_malformed(struct jsonw *, const struct spool_rec *,
		    const struct event *, int64_t);
static void	ecs_write_host(struct jsonw *, const char *);
static bool	ecs_time_ok(int64_t);
static void	ecs_doc_free(struct ecs_doc *);

static int
ecs_list_add(struct ecs_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		const char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return CD_EOK;
}

static bool
ecs_list_has(const struct ecs_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Hand a malloc'd string to the document (NULL stays NULL: out of memory). */
static char *
ecs_keep(struct ecs_doc *d, char *s)
{
	if (s != NULL && ecs_list_add(&d->arena, s) != CD_EOK) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * The mapping looks EventData fields up by name some 60 times per event:
 * a strcmp() per field per lookup was a fifth of the ECS formatting cost.
 * Each name gets a key (its length, first and last byte) once per event;
 * a lookup compares keys and calls strcmp() only when they match. The
 * key of a literal name is a constant (ECS_KEY), so the wrappers below
 * only take literals.
 */
static uint32_t
ecs_key(const char *name, size_t len)
{
	if (len == 0)
		return 0;
	return (uint32_t)(len & 0xffff) | (uint32_t)(uint8_t)name[0] << 16 |
	    (uint32_t)(uint8_t)name[len - 1] << 24;
}

#define ECS_KEY(lit) ((uint32_t)(sizeof(lit) - 1) | \
	(uint32_t)(uint8_t)(lit)[0] << 16 | (uint32_t)(uint8_t)(lit)[sizeof(lit) - 2] << 24)
#define ecs_peek(d, lit)	ecs_peek_k((d), "" lit, ECS_KEY("" lit))
#define ecs_take(d, lit)	ecs_take_k((d), "" lit, ECS_KEY("" lit))

/* src[0..n) into dst[size] as snprintf("%.*s") does: cut to fit, NUL-terminated. */
static void
ecs_copy(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* An EventData value that survived the pipeline's empty-value filter. */
static const char *
ecs_peek_k(struct ecs_doc *d, const char *name, uint32_t k)
{
	for (size_t i = 0; i < d->ev->ndata; i++)
		if (d->key[i] == k && !d->empty[i] && !d->used[i] &&
		    strcmp(d->ev->data[i].name, name) == 0)
			return d->ev->data[i].value;
	return NULL;
}

/* The same, and the field leaves winlog.event_data (a rename). */
static const char *
ecs_take_k(struct ecs_doc *d, const char *name, uint32_t k)
{
	for (size_t i = 0; i < d->ev->ndata; i++) {
		if (d->key[i] == k && !d->empty[i] && !d->used[i] &&
		    strcmp(d->ev->data[i].name, name) == 0) {
			d->used[i] = true;
			return d->ev->data[i].value;
		}
	}
	return NULL;
}

/* The pipeline's final remove list. */
static void
ecs_drop_k(struct ecs_doc *d, const char *name, uint32_t k)
{
	for (size_t i = 0; i < d->ev->ndata; i++)
		if (d->key[i] == k && strcmp(d->ev->data[i].name, name) == 0)
			d->used[i] = true;
}

/* Elasticsearch's convert to long: a decimal integer, else no field. */
static bool
ecs_long(const char *s, int64_t *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* Elasticsearch's convert to ip: an IPv4 or IPv6 literal. */
static bool
ecs_ip_valid(const char *s)
{
	uint8_t a[16];

	return s != NULL && (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1);
}

/*
 * Split a command line into arguments like the pipeline's "SplitCommandLine"
 * script: outside quotes spaces and tabs separate; 2n backslashes before a
 * quote give n and toggle quoting, 2n+1 give n and a literal quote; a
 * doubled quote inside quotes gives a literal quote and ends the quoting
 * (the "prior to 2008" rule); other backslashes are literal.
 */
static int
ecs_split_args(struct ecs_doc *d, const char *cmd, struct ecs_args *out)
{
	size_t len = strlen(cmd), i = 0;
	/* One allocation for all the arguments: each takes at most the bytes
	 * it was split from, plus its terminator. */
	char *b = NULL;

	out->set = true;
	while (i < len) {
		if (cmd[i] == ' ' || cmd[i] == '\t') {
			i++;
			continue;
		}
		if (b == NULL && ecs_keep(d, b = malloc(2 * len + 2)) == NULL)
			return -ENOMEM;
		size_t o = 0, nslash = 0;
		bool inquote = false;
		for (; i < len; i++) {
			char c = cmd[i];
			if ((c == ' ' || c == '\t') && !inquote) {
				i++;
				break;
			}
			if (c == '"') {
				for (size_t k = 0; k < nslash / 2; k++)
					b[o++] = '\\';
				if (nslash % 2 == 0) {
					if (inquote && i + 1 < len && cmd[i + 1] == '"') {
						b[o++] = '"';
						i++;
					}
					inquote = !inquote;
				} else {
					b[o++] = '"';
				}
				nslash = 0;
				continue;
			}
			if (c == '\\') {
				nslash++;
				continue;
			}
			for (; nslash > 0; nslash--)
				b[o++] = '\\';
			b[o++] = c;
		}
		for (; nslash > 0; nslash--)
			b[o++] = '\\';
		b[o] = '\0';
		if (ecs_list_add(&out->args, b) != CD_EOK)
			return -ENOMEM;
		b += o + 1;
	}
	return CD_EOK;
}

/* process.name: the text after the last backslash, or NULL. */
static const char *
ecs_basename(const char *path)
{
	const char *p;

	if (path == NULL || strlen(path) <= 1 || (p = strrchr(path, '\\')) == NULL ||
	    p[1] == '\0')
		return NULL;
	return p + 1;
}

/*
 * Hashes (or Hash) "SHA1=AB..,MD5=..,IMPHASH=..": keys and values lower
 * case, all-zero values dropped, every value in related.hash.
 */
static int
ecs_hashes(struct ecs_doc *d)
{
	const char *h = ecs_peek(d, "Hash");

	if (h != NULL && ecs_peek(d, "Hashes") == NULL)
		ecs_take(d, "Hash");
	else
		h = ecs_peek(d, "Hashes");
	if (h == NULL)
		return CD_EOK;
	char *s = ecs_keep(d, strdup(h));
	if (s == NULL)
		return -ENOMEM;
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || d->nhashes == sizeof(d->hashes) / sizeof(*d->hashes))
			continue;
		*eq = '\0';
		const char *v = eq + 1;
		if (v[strspn(v, "0")] == '\0')
			continue;
		d->hashes[d->nhashes].k = tok;
		d->hashes[d->nhashes++].v = v;
		if (ecs_list_add(&d->rel_hash, v) != CD_EOK)
			return -ENOMEM;
	}
	uint32_t id = d->ev->event_id;
	if (id == 6 || id == 7 || id == 15 || id == 29)
		d->hashes_to_file = true;
	else if (id != 1 && (id < 23 || id > 26))
		d->nhashes = 0;	/* other events: the map is dropped */
	for (size_t i = 0; i < d->nhashes; i++)
		if (strcmp(d->hashes[i].k, "imphash") == 0)
			d->imphash = d->hashes[i].v;
	return CD_EOK;
}

static int
ecs_process(struct ecs_doc *d)
{
	struct ecs_proc *p = &d->proc, *pp = &d->parent;
	bool img7 = d->ev->event_id == 7;
	int rc = CD_EOK;

	/* Renames whose target is already set fail and leave the field in
	 * event_data, as the pipeline's ignore_failure renames do. */
	if ((p->entity_id = ecs_take(d, "ProcessGuid")) == NULL &&
	    (p->entity_id = ecs_take(d, "SourceProcessGuid")) == NULL)
		p->entity_id = ecs_take(d, "SourceProcessGUID");
	p->has_pid = ecs_long(ecs_peek(d, "ProcessId"), &p->pid);
	if (!p->has_pid)
		p->has_pid = ecs_long(ecs_peek(d, "SourceProcessId"), &p->pid);
	p->has_thread = ecs_long(ecs_peek(d, "SourceThreadId"), &p->thread_id);
	if ((p->executable = ecs_take(d, "Image")) == NULL &&
	    (p->executable = ecs_take(d, "SourceImage")) == NULL)
		p->executable = ecs_take(d, "Destination");
	p->command_line = ecs_take(d, "CommandLine");
	p->working_directory = ecs_take(d, "CurrentDirectory");
	pp->entity_id = ecs_take(d, "ParentProcessGuid");
	pp->has_pid = ecs_long(ecs_peek(d, "ParentProcessId"), &pp->pid);
	pp->executable = ecs_take(d, "ParentImage");
	pp->command_line = ecs_take(d, "ParentCommandLine");
	if (!img7) {
		p->pe_original = ecs_take(d, "OriginalFileName");
		p->pe_company = ecs_peek(d, "Company");
		p->pe_description = ecs_peek(d, "Description");
		p->pe_version = ecs_peek(d, "FileVersion");
		p->pe_product = ecs_peek(d, "Product");
	}
	if (p->command_line != NULL)
		rc = ecs_split_args(d, p->command_line, &p->args);
	if (rc == CD_EOK && pp->command_line != NULL)
		rc = ecs_split_args(d, pp->command_line, &pp->args);
	p->name = ecs_basename(p->executable);
	pp->name = ecs_basename(pp->executable);
	return rc;
}

static int
ecs_file(struct ecs_doc *d)
{
	bool img7 = d->ev->event_id == 7;

	if ((d->file.path = ecs_take(d, "TargetFilename")) == NULL)
		d->file.path = ecs_take(d, "Device");
	d->file.name = ecs_take(d, "PipeName");
	if (d->file.path == NULL)
		d->file.path = ecs_take(d, "ImageLoaded");
	d->file.sig_subject = ecs_peek(d, "Signature");
	d->file.sig_status = ecs_peek(d, "SignatureStatus");
	d->file.valid = d->file.sig_status != NULL && strcmp(d->file.sig_status, "Valid") == 0;
	if (img7) {
		d->file.pe_original = ecs_take(d, "OriginalFileName");
		d->file.pe_company = ecs_peek(d, "Company");
		d->file.pe_description = ecs_peek(d, "Description");
		d->file.pe_version = ecs_peek(d, "FileVersion");
		d->file.pe_product = ecs_peek(d, "Product");
	}
	const char *path = d->file.path;
	const char *bs = path != NULL && strlen(path) > 1 ? strrchr(path, '\\') : NULL;
	if (bs != NULL) {
		d->file.name = bs + 1;
		d->file.directory = ecs_keep(d, strndup(path, (size_t)(bs - path)));
		if (d->file.directory == NULL)
			return -ENOMEM;
		/* The pipeline takes the last dot of the whole path. */
		const char *dot = strrchr(path, '.');
		if (dot != NULL)
			d->file.extension = dot + 1;
	}
	return CD_EOK;
}

static void
ecs_network(struct ecs_doc *d)
{
	const char *v;
	bool dns = d->ev->event_id == 22;

	d->net_transport = ecs_take(d, "Protocol");
	if (dns) {
		d->net_protocol = "dns";
	} else if ((d->net_protocol = ecs_take(d, "DestinationPortName")) == NULL) {
		d->net_protocol = ecs_take(d, "SourcePortName");
	}
	v = ecs_peek(d, "SourceIp");
	if (ecs_ip_valid(v))
		d->src.ip = v;
	d->src.domain = ecs_take(d, "SourceHostname");
	d->src.has_port = ecs_long(ecs_peek(d, "SourcePort"), &d->src.port);
	v = ecs_peek(d, "DestinationIp");
	if (ecs_ip_valid(v))
		d->dst.ip = v;
	d->dst.domain = ecs_take(d, "DestinationHostname");
	d->dst.has_port = ecs_long(ecs_peek(d, "DestinationPort"), &d->dst.port);
	if ((v = ecs_peek(d, "Initiated")) != NULL)
		d->net_direction = strcmp(v, "true") == 0 ? "egress" :
		    strcmp(v, "false") == 0 ? "ingress" : NULL;
	if ((v = ecs_peek(d, "SourceIsIpv6")) != NULL)
		d->net_type = strcmp(v, "false") == 0 ? "ipv4" :
		    strcmp(v, "true") == 0 ? "ipv6" : NULL;
}

/*
 * Community ID v1 (https://github.com/corelight/community-id-spec): base64
 * of SHA-1 over seed (0), the two addresses and ports ordered so the
 * smaller endpoint comes first, the IP protocol number and a zero byte.
 * Elastic's community_id processor computes it for TCP, UDP and SCTP.
 */
static void
ecs_community_id(struct ecs_doc *d)
{
	uint8_t a[16], b[16], msg[2 + 32 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int proto, fam;
	size_t alen, o = 0;

	if (d->src.ip == NULL || d->dst.ip == NULL || !d->src.has_port ||
	    !d->dst.has_port || d->net_transport == NULL)
		return;
	if (strcasecmp(d->net_transport, "tcp") == 0)
		proto = 6;
	else if (strcasecmp(d->net_transport, "udp") == 0)
		proto = 17;
	else if (strcasecmp(d->net_transport, "sctp") == 0)
		proto = 132;
	else
		return;
	fam = strchr(d->src.ip, ':') ? AF_INET6 : AF_INET;
	alen = fam == AF_INET6 ? 16 : 4;
	if (inet_pton(fam, d->src.ip, a) != 1 || inet_pton(fam, d->dst.ip, b) != 1 ||
	    d->src.port < 0 || d->src.port > 65535 || d->dst.port < 0 || d->dst.port > 65535)
		return;
	uint16_t sp = (uint16_t)d->src.port, dp = (uint16_t)d->dst.port;
	int cmp = memcmp(a, b, alen);
	bool swap = cmp > 0 || (cmp == 0 && sp > dp);
	msg[o++] = 0;
	msg[o++] = 0;
	memcpy(msg + o, swap ? b : a, alen);
	o += alen;
	memcpy(msg + o, swap ? a : b, alen);
	o += alen;
	msg[o++] = (uint8_t)proto;
	msg[o++] = 0;
	uint16_t p1 = swap ? dp : sp, p2 = swap ? sp : dp;
	msg[o++] = (uint8_t)(p1 >> 8);
	msg[o++] = (uint8_t)p1;
	msg[o++] = (uint8_t)(p2 >> 8);
	msg[o++] = (uint8_t)p2;
	if (EVP_Digest(msg, o, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return;
	memcpy(d->community_id, "1:", 2);
	EVP_EncodeBlock((unsigned char *)d->community_id + 2, md, (int)mdlen);
}

/*
 * QueryName, QueryResults, QueryStatus (ecs-sysmon.md 6). Addresses keep
 * the text Sysmon wrote, minus an IPv4-mapped "::ffff:" prefix; items that
 * are not addresses are dropped, duplicates kept, as the pipeline does.
 */
static int
ecs_dns(struct ecs_doc *d)
{
	const char *qr, *st;
	char norm[DNS_NAME_MAX];

	d->qname = ecs_take(d, "QueryName");
	if ((qr = ecs_peek(d, "QueryResults")) != NULL) {
		char *s = ecs_keep(d, strdup(qr));
		if (s == NULL)
			return -ENOMEM;
		for (char *save = NULL, *it = strtok_r(s, ";", &save); it != NULL;
		    it = strtok_r(NULL, ";", &save)) {
			if (strncmp(it, "type:", 5) == 0) {
				char *save2 = NULL;
				strtok_r(it, " \t", &save2);
				char *num = strtok_r(NULL, " \t", &save2);
				char *data = strtok_r(NULL, " \t", &save2);
				const char *type = NULL;
				char *end;
				if (num == NULL)
					continue;
				unsigned long n = strtoul(num, &end, 10);
				for (size_t i = 0; *end == '\0' &&
				    i < sizeof(ecs_rrtypes) / sizeof(*ecs_rrtypes); i++)
					if (ecs_rrtypes[i].n == n)
						type = ecs_rrtypes[i].name;
				if (ecs_list_add(&d->ans_type, type) != CD_EOK ||
				    ecs_list_add(&d->ans_data, data) != CD_EOK ||
				    (data != NULL && ecs_list_add(&d->rel_hosts, data) != CD_EOK))
					return -ENOMEM;
				continue;
			}
			const char *ip = it;
			if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, ':') == NULL)
				ip += 7;
			if (ecs_ip_valid(ip) && ecs_list_add(&d->resolved, ip) != CD_EOK)
				return -ENOMEM;
		}
		for (size_t i = 0; i < d->resolved.n; i++) {
			const char *ip = d->resolved.v[i];
			if (ecs_list_add(&d->ans_type, strchr(ip, ':') ? "AAAA" : "A") != CD_EOK ||
			    ecs_list_add(&d->ans_data, ip) != CD_EOK)
				return -ENOMEM;
		}
	}
	/* registered_domain processor (PSL with its private section; libpsl's
	 * built-in list has both). Lower case: the list is. */
	if (d->qname != NULL && dns_name_normalise(d->qname, norm) == CD_EOK) {
		int fam;
		uint8_t addr[16];
		const char *rd = NULL;
		if (dns_addr_parse(norm, &fam, addr) != CD_EOK && strchr(norm, '.') != NULL)
			rd = psl_registrable_domain(psl_builtin(), norm);
		if (rd != NULL && *rd != '\0' && strchr(rd, '.') != NULL) {
			const char *tld = strchr(rd, '.') + 1;
			size_t nl = strlen(norm), rl = strlen(rd);
			ecs_copy(d->regdom, sizeof(d->regdom), rd, rl);
			ecs_copy(d->tld, sizeof(d->tld), tld, rl - (size_t)(tld - rd));
			if (nl > rl + 1)
				ecs_copy(d->subdomain, sizeof(d->subdomain), norm,
				    nl - rl - 1);
		}
	}
	if (d->qname != NULL && !ecs_list_has(&d->rel_hosts, d->qname) &&
	    ecs_list_add(&d->rel_hosts, d->qname) != CD_EOK)
		return -ENOMEM;
	for (size_t i = 0; i < d->resolved.n; i++)
		if (!ecs_list_has(&d->rel_ip, d->resolved.v[i]) &&
		    ecs_list_add(&d->rel_ip, d->resolved.v[i]) != CD_EOK)
			return -ENOMEM;
	if ((st = ecs_take(d, "QueryStatus")) != NULL) {
		char *end;
		unsigned long code = strtoul(st, &end, 10);
		d->dns_status = st;	/* unknown codes stay as written */
		for (size_t i = 0; *end == '\0' && i < sizeof(ecs_dns_status) /
		    sizeof(*ecs_dns_status); i++)
			if (ecs_dns_status[i].code == code)
				d->dns_status = ecs_dns_status[i].name;
	}
	return CD_EOK;
}

/* Eight hex digits (the pipeline's [0-9A-F]{8}, case-insensitive). */
static bool
ecs_hex8(const char *s)
{
	for (int i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* TargetObject and Details of Event IDs 12-14 (sysmon.yml "Set registry fields"). */
static int
ecs_registry(struct ecs_doc *d)
{
	static const char *const hives[][2] = {
		{ "HKEY_CLASSES_ROOT", "HKCR" }, { "HKCR", "HKCR" },
		{ "HKEY_CURRENT_CONFIG", "HKCC" }, { "HKCC", "HKCC" },
		{ "HKEY_CURRENT_USER", "HKCU" }, { "HKCU", "HKCU" },
		{ "HKEY_DYN_DATA", "HKDD" }, { "HKDD", "HKDD" },
		{ "HKEY_LOCAL_MACHINE", "HKLM" }, { "HKLM", "HKLM" },
		{ "HKEY_PERFORMANCE_DATA", "HKPD" }, { "HKPD", "HKPD" },
		{ "HKEY_USERS", "HKU" }, { "HKU", "HKU" },
	};
	uint32_t id = d->ev->event_id;
	const char *path = ecs_peek(d, "TargetObject"), *data = ecs_peek(d, "Details");
	unsigned long long hi, lo;

	if (path == NULL || id < 12 || id > 14)
		return CD_EOK;
	d->reg_set = true;
	d->reg.path = path;
	/* Java's split drops trailing empty tokens. */
	size_t plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '\\')
		plen--;
	const char *first_end = memchr(path, '\\', plen);
	size_t flen = first_end ? (size_t)(first_end - path) : plen;
	for (size_t i = 0; i < sizeof(hives) / sizeof(*hives); i++) {
		if (strlen(hives[i][0]) == flen && strncmp(path, hives[i][0], flen) == 0) {
			d->reg.hive = hives[i][1];
			if (first_end != NULL &&
			    (d->reg.key = ecs_keep(d, strndup(first_end + 1,
			    plen - flen - 1))) == NULL)
				return -ENOMEM;
		}
	}
	const char *last = path + plen;
	while (last > path && last[-1] != '\\')
		last--;
	if ((d->reg.value = ecs_keep(d, strndup(last, (size_t)(path + plen - last)))) == NULL)
		return -ENOMEM;
	if (data == NULL)
		return CD_EOK;
	char num[32];
	size_t dl = strlen(data);
	if (dl == 29 && strncasecmp(data, "QWORD (0x", 9) == 0 && ecs_hex8(data + 9) &&
	    strncasecmp(data + 17, "-0x", 3) == 0 && ecs_hex8(data + 20) && data[28] == ')') {
		hi = strtoull(data + 9, NULL, 16);
		lo = strtoull(data + 20, NULL, 16);
		/* The pipeline shifts the high word by 8 bits, not 32; kept so the
		 * documents equal Elastic's. */
		snprintf(num, sizeof(num), "%llu", (hi << 8) + lo);
		d->reg.type = "SZ_QWORD";
	} else if (dl == 18 && strncasecmp(data, "DWORD (0x", 9) == 0 && ecs_hex8(data + 9) &&
	    data[17] == ')') {
		snprintf(num, sizeof(num), "%llu", strtoull(data + 9, NULL, 16));
		d->reg.type = "SZ_DWORD";
	} else {
		d->reg.data = data;
		d->reg.type = strcmp(data, "Binary Data") == 0 ? "REG_BINARY" : "REG_SZ";
		return CD_EOK;
	}
	if ((d->reg.data = ecs_keep(d, strdup(num))) == NULL)
		return -ENOMEM;
	return CD_EOK;
}

static int
ecs_user_related(struct ecs_doc *d)
{
	const char *u = ecs_peek(d, "User");

	d->user_id = d->ev->user_sid && *d->ev->user_sid ? d->ev->user_sid : NULL;
	if (u != NULL) {
		const char *bs = strchr(u, '\\');
		if (bs != NULL && strchr(bs + 1, '\\') == NULL && bs != u && bs[1] != '\0') {
			d->user_domain = ecs_keep(d, strndup(u, (size_t)(bs - u)));
			if (d->user_domain == NULL)
				return -ENOMEM;
			d->user_name = bs + 1;
		}
	}
	if (d->user_name != NULL && ecs_list_add(&d->rel_user, d->user_name) != CD_EOK)
		return -ENOMEM;
	if (d->src.ip != NULL && !ecs_list_has(&d->rel_ip, d->src.ip) &&
	    ecs_list_add(&d->rel_ip, d->src.ip) != CD_EOK)
		return -ENOMEM;
	if (d->dst.ip != NULL && !ecs_list_has(&d->rel_ip, d->dst.ip) &&
	    ecs_list_add(&d->rel_ip, d->dst.ip) != CD_EOK)
		return -ENOMEM;
	return CD_EOK;
}

/* The Sysmon pipeline, section by section, in its order. */
static int
ecs_map_sysmon(struct ecs_doc *d)
{
	static const char *const removed[] = {
		"ProcessId", "ParentProcessId", "SourceProcessId", "SourceThreadId",
		"SourceIp", "SourcePort", "SourcePortName", "DestinationIp",
		"DestinationPort", "DestinationPortName", "RuleName", "User", "Initiated",
		"SourceIsIpv6", "DestinationIsIpv6", "QueryStatus", "Archived",
		"IsExecutable", "QueryResults", "UtcTime", "Hash", "Hashes",
		"TargetObject", "Details",
	};
	const char *v;
	int rc;

	for (size_t i = 0; i < d->ev->ndata; i++) {
		v = d->ev->data[i].value;
		d->empty[i] = v == NULL || *v == '\0' || strcmp(v, "-") == 0 ||
		    strcmp(v, ECS_ZERO_GUID) == 0;
	}
	if ((v = ecs_peek(d, "UtcTime")) != NULL)
		dns_parse_utctime(v, &d->timestamp);
	if (d->ev->event_id == 255)
		d->error_code = ecs_take(d, "ID");
	d->rule_name = ecs_take(d, "RuleName");
	if (d->ev->event_id == 25)
		d->message = ecs_take(d, "Type");
	if ((rc = ecs_hashes(d)) != CD_EOK || (rc = ecs_process(d)) != CD_EOK ||
	    (rc = ecs_file(d)) != CD_EOK)
		return rc;
	ecs_network(d);
	if ((rc = ecs_dns(d)) != CD_EOK)
		return rc;
	ecs_community_id(d);
	if ((rc = ecs_user_related(d)) != CD_EOK)
		return rc;
	if ((v = ecs_peek(d, "Archived")) != NULL)
		d->archived = strcasecmp(v, "true") == 0 ? 1 : strcasecmp(v, "false") == 0 ? 0 : -1;
	if ((v = ecs_peek(d, "IsExecutable")) != NULL)
		d->is_executable = strcasecmp(v, "true") == 0 ? 1 :
		    strcasecmp(v, "false") == 0 ? 0 : -1;
	if ((rc = ecs_registry(d)) != CD_EOK)
		return rc;
	for (size_t i = 0; i < sizeof(removed) / sizeof(*removed); i++)
		ecs_drop_k(d, removed[i], ecs_key(removed[i], strlen(removed[i])));
	return CD_EOK;
}

static void
ecs_write_list(struct jsonw *j, const char *key, const struct ecs_list *l)
{
	if (l->n == 0)
		return;
	jsonw_key(j, key);
	jsonw_array_begin(j);
	for (size_t i = 0; i < l->n; i++)
		jsonw_string(j, l->v[i]);
	jsonw_array_end(j);
}

#define ECS_KS(j, k, v)	do { if ((v) != NULL) jsonw_kstring((j), (k), (v)); } while (0)

static void
ecs_write_hashes(struct jsonw *j, const struct ecs_doc *d)
{
	bool any = false;

	for (size_t i = 0; i < d->nhashes; i++)
		any = any || strcmp(d->hashes[i].k, "imphash") != 0;
	if (!any)
		return;
	jsonw_key(j, "hash");
	jsonw_object_begin(j);
	for (size_t i = 0; i < d->nhashes; i++) {
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup = dup || strcmp(d->hashes[k].k, d->hashes[i].k) == 0;
		if (!dup && strcmp(d->hashes[i].k, "imphash") != 0)
			jsonw_kstring(j, d->hashes[i].k, d->hashes[i].v);
	}
	jsonw_object_end(j);
}

static void
ecs_write_proc(struct jsonw *j, const struct ecs_doc *d, const struct ecs_proc *p,
    bool is_parent)
{
	bool hashes = !is_parent && d->nhashes > 0 && !d->hashes_to_file;
	const char *imphash = hashes ? d->imphash : NULL;

	if (p->args.set) {
		ecs_write_list(j, "args", &p->args.args);
		jsonw_kuint(j, "args_count", p->args.args.n);
	}
	ECS_KS(j, "command_line", p->command_line);
	ECS_KS(j, "entity_id", p->entity_id);
	ECS_KS(j, "executable", p->executable);
	if (hashes)
		ecs_write_hashes(j, d);
	ECS_KS(j, "name", p->name);
	if (!is_parent && (d->parent.entity_id || d->parent.has_pid ||
	    d->parent.executable || d->parent.command_line)) {
		jsonw_key(j, "parent");
		jsonw_object_begin(j);
		ecs_write_proc(j, d, &d->parent, true);
		jsonw_object_end(j);
	}
	if (p->pe_original || p->pe_company || p->pe_description || p->pe_version ||
	    p->pe_product || imphash) {
		jsonw_key(j, "pe");
		jsonw_object_begin(j);
		ECS_KS(j, "company", p->pe_company);
		ECS_KS(j, "description", p->pe_description);
		ECS_KS(j, "file_version", p->pe_version);
		ECS_KS(j, "imphash", imphash);
		ECS_KS(j, "original_file_name", p->pe_original);
		ECS_KS(j, "product", p->pe_product);
		jsonw_object_end(j);
	}
	if (p->has_pid)
		jsonw_kint(j, "pid", p->pid);
	if (p->has_thread) {
		jsonw_key(j, "thread");
		jsonw_object_begin(j);
		jsonw_kint(j, "id", p->thread_id);
		jsonw_object_end(j);
	}
	ECS_KS(j, "working_directory", p->working_directory);
}

static void
ecs_write_event(struct jsonw *j, const struct ecs_doc *d, bool sysmon, int64_t received)
{
	const struct event *ev = d->ev;
	char code[JSONW_UINT_LEN];
	const char *outcome = NULL;
	size_t t;

	for (t = 0; sysmon && t < sizeof(ecs_sysmon_events) / sizeof(*ecs_sysmon_events); t++)
		if (ecs_sysmon_events[t].id == ev->event_id)
			break;
	if (!sysmon)
		t = sizeof(ecs_sysmon_events) / sizeof(*ecs_sysmon_events);
	bool known = t < sizeof(ecs_sysmon_events) / sizeof(*ecs_sysmon_events);
	/* Audit events: Keywords bits 0x10000000000000 (Audit Failure) and
	 * 0x20000000000000 (Audit Success), as the shipper reads them. */
	if (!sysmon && ev->keywords != NULL) {
		unsigned long long kw = strtoull(ev->keywords, NULL, 0);
		if (kw & 0x10000000000000ULL)
			outcome = "failure";
		else if (kw & 0x20000000000000ULL)
			outcome = "success";
	}
	jsonw_uint_format(ev->event_id, code);
	jsonw_key(j, "event");
	jsonw_object_begin(j);
	if (known) {
		jsonw_kstring(j, "action", ecs_sysmon_events[t].action);
		if (ecs_sysmon_events[t].category[0] != NULL) {
			jsonw_key(j, "category");
			jsonw_array_begin(j);
			for (size_t i = 0; i < 2 && ecs_sysmon_events[t].category[i]; i++)
				jsonw_string(j, ecs_sysmon_events[t].category[i]);
			jsonw_array_end(j);
		}
	}
	if (ev->has_event_id)
		jsonw_kstring(j, "code", code);
	jsonw_ktime(j, "created", received);
	jsonw_kstring(j, "dataset", sysmon ? "windows.sysmon_operational" : "windows.forwarded");
	jsonw_ktime(j, "ingested", received);
	jsonw_kstring(j, "kind", "event");
	if (sysmon)
		jsonw_kstring(j, "module", "sysmon");
	if (known && ecs_sysmon_events[t].outcome != NULL)
		outcome = ecs_sysmon_events[t].outcome;
	ECS_KS(j, "outcome", outcome);
	ECS_KS(j, "provider", ev->provider);
	if (known && ecs_sysmon_events[t].type[0] != NULL) {
		jsonw_key(j, "type");
		jsonw_array_begin(j);
		for (size_t i = 0; i < 3 && ecs_sysmon_events[t].type[i]; i++)
			jsonw_string(j, ecs_sysmon_events[t].type[i]);
		jsonw_array_end(j);
	}
	jsonw_object_end(j);
}

static void
ecs_write_endpoint(struct jsonw *j, const char *key, const struct ecs_endpoint *e)
{
	if (e->ip == NULL && e->domain == NULL && !e->has_port)
		return;
	jsonw_key(j, key);
	jsonw_object_begin(j);
	ECS_KS(j, "domain", e->domain);
	ECS_KS(j, "ip", e->ip);
	if (e->has_port)
		jsonw_kint(j, "port", e->port);
	jsonw_object_end(j);
}

/*
 * The Sysmon fields are written in key order around the envelope's:
 * front (destination, dns), file, back (message ... user).
 */
static void
ecs_write_front(struct jsonw *j, const struct ecs_doc *d)
{
	ecs_write_endpoint(j, "destination", &d->dst);
	if (d->qname != NULL || d->ans_type.n > 0) {
		jsonw_key(j, "dns");
		jsonw_object_begin(j);
		if (d->ans_type.n > 0) {
			jsonw_key(j, "answers");
			jsonw_array_begin(j);
			for (size_t i = 0; i < d->ans_type.n; i++) {
				jsonw_object_begin(j);
				ECS_KS(j, "data", d->ans_data.v[i]);
				if (d->ans_type.v[i] != NULL)
					jsonw_kstring(j, "type", d->ans_type.v[i]);
				else
					jsonw_knull(j, "type");
				jsonw_object_end(j);
			}
			jsonw_array_end(j);
		}
		if (d->qname != NULL) {
			jsonw_key(j, "question");
			jsonw_object_begin(j);
			jsonw_kstring(j, "name", d->qname);
			if (d->regdom[0] != '\0')
				jsonw_kstring(j, "registered_domain", d->regdom);
			if (d->subdomain[0] != '\0')
				jsonw_kstring(j, "subdomain", d->subdomain);
			if (d->tld[0] != '\0')
				jsonw_kstring(j, "top_level_domain", d->tld);
			jsonw_object_end(j);
		}
		ecs_write_list(j, "resolved_ip", &d->resolved);
		jsonw_object_end(j);
	}
}

static void
ecs_write_file(struct jsonw *j, const struct ecs_doc *d)
{
	if (d->file.path || d->file.name || d->file.sig_subject || d->file.sig_status ||
	    (d->nhashes > 0 && d->hashes_to_file) || d->file.pe_original ||
	    d->file.pe_company || d->file.pe_description || d->file.pe_version ||
	    d->file.pe_product) {
		const char *imphash = d->hashes_to_file ? d->imphash : NULL;
		jsonw_key(j, "file");
		jsonw_object_begin(j);
		if (d->file.sig_subject || d->file.sig_status) {
			jsonw_key(j, "code_signature");
			jsonw_object_begin(j);
			ECS_KS(j, "status", d->file.sig_status);
			ECS_KS(j, "subject_name", d->file.sig_subject);
			if (d->file.valid)
				jsonw_kbool(j, "valid", true);
			jsonw_object_end(j);
		}
		ECS_KS(j, "directory", d->file.directory);
		ECS_KS(j, "extension", d->file.extension);
		if (d->hashes_to_file)
			ecs_write_hashes(j, d);
		ECS_KS(j, "name", d->file.name);
		ECS_KS(j, "path", d->file.path);
		if (d->file.pe_original || d->file.pe_company || d->file.pe_description ||
		    d->file.pe_version || d->file.pe_product || imphash) {
			jsonw_key(j, "pe");
			jsonw_object_begin(j);
			ECS_KS(j, "company", d->file.pe_company);
			ECS_KS(j, "description", d->file.pe_description);
			ECS_KS(j, "file_version", d->file.pe_version);
			ECS_KS(j, "imphash", imphash);
			ECS_KS(j, "original_file_name", d->file.pe_original);
			ECS_KS(j, "product", d->file.pe_product);
			jsonw_object_end(j);
		}
		jsonw_object_end(j);
	}
}

static void
ecs_write_back(struct jsonw *j, const struct ecs_doc *d)
{
	const struct ecs_proc *p = &d->proc;

	ECS_KS(j, "message", d->message);
	if (d->net_transport || d->net_protocol || d->net_direction || d->net_type ||
	    d->community_id[0]) {
		jsonw_key(j, "network");
		jsonw_object_begin(j);
		if (d->community_id[0] != '\0')
			jsonw_kstring(j, "community_id", d->community_id);
		ECS_KS(j, "direction", d->net_direction);
		ECS_KS(j, "protocol", d->net_protocol);
		ECS_KS(j, "transport", d->net_transport);
		ECS_KS(j, "type", d->net_type);
		jsonw_object_end(j);
	}
	if (p->entity_id || p->has_pid || p->executable || p->command_line ||
	    p->working_directory || p->has_thread || p->pe_original || p->pe_company ||
	    p->pe_description || p->pe_version || p->pe_product ||
	    (d->nhashes > 0 && !d->hashes_to_file) || d->parent.entity_id ||
	    d->parent.has_pid || d->parent.executable || d->parent.command_line) {
		jsonw_key(j, "process");
		jsonw_object_begin(j);
		ecs_write_proc(j, d, p, false);
		jsonw_object_end(j);
	}
	if (d->reg_set) {
		jsonw_key(j, "registry");
		jsonw_object_begin(j);
		if (d->reg.data != NULL) {
			jsonw_key(j, "data");
			jsonw_object_begin(j);
			jsonw_key(j, "strings");
			jsonw_array_begin(j);
			jsonw_string(j, d->reg.data);
			jsonw_array_end(j);
			jsonw_kstring(j, "type", d->reg.type);
			jsonw_object_end(j);
		}
		ECS_KS(j, "hive", d->reg.hive);
		ECS_KS(j, "key", d->reg.key);
		ECS_KS(j, "path", d->reg.path);
		ECS_KS(j, "value", d->reg.value);
		jsonw_object_end(j);
	}
	if (d->rel_hash.n || d->rel_hosts.n || d->rel_ip.n || d->rel_user.n) {
		jsonw_key(j, "related");
		jsonw_object_begin(j);
		ecs_write_list(j, "hash", &d->rel_hash);
		ecs_write_list(j, "hosts", &d->rel_hosts);
		ecs_write_list(j, "ip", &d->rel_ip);
		ecs_write_list(j, "user", &d->rel_user);
		jsonw_object_end(j);
	}
	if (d->rule_name != NULL) {
		jsonw_key(j, "rule");
		jsonw_object_begin(j);
		jsonw_kstring(j, "name", d->rule_name);
		jsonw_object_end(j);
	}
	ecs_write_endpoint(j, "source", &d->src);
	if (d->dns_status != NULL || d->archived >= 0 || d->is_executable >= 0) {
		jsonw_key(j, "sysmon");
		jsonw_object_begin(j);
		if (d->dns_status != NULL) {
			jsonw_key(j, "dns");
			jsonw_object_begin(j);
			jsonw_kstring(j, "status", d->dns_status);
			jsonw_object_end(j);
		}
		if (d->archived >= 0 || d->is_executable >= 0) {
			jsonw_key(j, "file");
			jsonw_object_begin(j);
			if (d->archived >= 0)
				jsonw_kbool(j, "archived", d->archived == 1);
			if (d->is_executable >= 0)
				jsonw_kbool(j, "is_executable", d->is_executable == 1);
			jsonw_object_end(j);
		}
		jsonw_object_end(j);
	}
	if (d->user_id || d->user_name || d->user_domain) {
		jsonw_key(j, "user");
		jsonw_object_begin(j);
		ECS_KS(j, "domain", d->user_domain);
		ECS_KS(j, "id", d->user_id);
		ECS_KS(j, "name", d->user_name);
		jsonw_object_end(j);
	}
}

static void
ecs_write_winlog(struct jsonw *j, const struct ecs_doc *d, bool sysmon)
{
	const struct event *ev = d->ev;
	char num[JSONW_UINT_LEN];
	bool any = false;

	jsonw_key(j, "winlog");
	jsonw_object_begin(j);
	ECS_KS(j, "channel", ev->channel);
	ECS_KS(j, "computer_name", ev->computer);
	for (size_t i = 0; i < ev->ndata; i++)
		any = any || (!d->used[i] && !d->empty[i]);
	if (any) {
		jsonw_key(j, "event_data");
		jsonw_object_begin(j);
		for (size_t i = 0; i < ev->ndata; i++) {
			const char *n = ev->data[i].name;
			bool dup = false;
			if (d->used[i] || d->empty[i])
				continue;
			/* First of a repeated name wins: a JSON object holds one. */
			for (size_t k = 0; k < i && !dup; k++)
				dup = d->key[k] == d->key[i] && !d->used[k] &&
				    !d->empty[k] && strcmp(ev->data[k].name, n) == 0;
			if (dup)
				continue;
			if (sysmon && strcmp(n, "TargetProcessGuid") == 0)
				n = "TargetProcessGUID";	/* the pipeline's "Conformity" step */
			jsonw_kstring(j, n, ev->data[i].value ? ev->data[i].value : "");
		}
		jsonw_object_end(j);
	}
	if (ev->has_event_id) {
		jsonw_uint_format(ev->event_id, num);
		jsonw_kstring(j, "event_id", num);
	}
	if (ev->keywords != NULL && !sysmon) {
		unsigned long long kw = strtoull(ev->keywords, NULL, 0);
		if (kw & 0x30000000000000ULL) {
			jsonw_key(j, "keywords");
			jsonw_array_begin(j);
			if (kw & 0x10000000000000ULL)
				jsonw_string(j, "Audit Failure");
			if (kw & 0x20000000000000ULL)
				jsonw_string(j, "Audit Success");
			jsonw_array_end(j);
		}
	}
	for (size_t i = 0; i < sizeof(ecs_opcodes) / sizeof(*ecs_opcodes); i++)
		if (ecs_opcodes[i].n == ev->opcode)
			jsonw_kstring(j, "opcode", ecs_opcodes[i].name);
	jsonw_key(j, "process");
	jsonw_object_begin(j);
	jsonw_kuint(j, "pid", ev->process_id);
	jsonw_key(j, "thread");
	jsonw_object_begin(j);
	jsonw_kuint(j, "id", ev->thread_id);
	jsonw_object_end(j);
	jsonw_object_end(j);
	ECS_KS(j, "provider_guid", ev->provider_guid);
	ECS_KS(j, "provider_name", ev->provider);
	if (ev->has_record_id) {
		/* A string after the Sysmon pipeline, a number before it. */
		if (sysmon) {
			jsonw_uint_format(ev->record_id, num);
			jsonw_kstring(j, "record_id", num);
		} else {
			jsonw_kuint(j, "record_id", ev->record_id);
		}
	}
	if (ev->user_sid != NULL) {
		jsonw_key(j, "user");
		jsonw_object_begin(j);
		jsonw_kstring(j, "identifier", ev->user_sid);
		jsonw_object_end(j);
	}
	jsonw_kuint(j, "version", ev->version);
	jsonw_object_end(j);
}

static void
ecs_write_host(struct jsonw *j, const char *name)
{
	jsonw_key(j, "host");
	jsonw_object_begin(j);
	ECS_KS(j, "name", name);
	/* Elastic's rules filter on host.os.type; no Sysmon pipeline sets it
	 * (ecs-sysmon.md 8, 10). */
	jsonw_key(j, "os");
	jsonw_object_begin(j);
	jsonw_kstring(j, "family", "windows");
	jsonw_kstring(j, "type", "windows");
	jsonw_object_end(j);
	jsonw_object_end(j);
}

/*
 * An event whose XML did not parse: what is known, the raw text as
 * event.original, and event.kind "pipeline_error" (ECS's kind for a
 * document that could not be processed) with the reason in error.message.
 */
static void
ecs_write_malformed(struct jsonw *j, const struct spool_rec *rec,
    const struct event *ev, int64_t received)
{
	jsonw_object_begin(j);
	jsonw_ktime(j, "@timestamp", received);
	jsonw_key(j, "ecs");
	jsonw_object_begin(j);
	jsonw_kstring(j, "version", ECS_VERSION);
	jsonw_object_end(j);
	jsonw_key(j, "error");
	jsonw_object_begin(j);
	jsonw_kstring(j, "message", ev->error ? ev->error : "malformed event XML");
	jsonw_object_end(j);
	jsonw_key(j, "event");
	jsonw_object_begin(j);
	jsonw_ktime(j, "created", received);
	jsonw_kstring(j, "dataset", "windows.forwarded");
	jsonw_ktime(j, "ingested", received);
	jsonw_kstring(j, "kind", "pipeline_error");
	jsonw_key(j, "original");
	jsonw_string_n(j, rec->data, rec->data_len);
	jsonw_object_end(j);
	ecs_write_host(j, rec->host && *rec->host ? rec->host : NULL);
	jsonw_key(j, "tags");
	jsonw_array_begin(j);
	jsonw_string(j, "forwarded");
	jsonw_string(j, "malformed");
	jsonw_array_end(j);
	jsonw_object_end(j);
}

static void
ecs_doc_free(struct ecs_doc *d)
{
	for (size_t i = 0; i < d->arena.n; i++)
		free((void *)d->arena.v[i]);
	free(d->arena.v);
	free(d->proc.args.args.v);
	free(d->parent.args.args.v);
	free(d->ans_type.v);
	free(d->ans_data.v);
	free(d->resolved.v);
	free(d->rel_user.v);
	free(d->rel_ip.v);
	free(d->rel_hosts.v);
	free(d->rel_hash.v);
	if (d->used != d->used_s)
		free(d->used);
	if (d->empty != d->empty_s)
		free(d->empty);
	if (d->key != d->key_s)
		free(d->key);
}

static bool
ecs_time_ok(int64_t ms)
{
	char ts[JSONW_TIME_LEN];

	return ms != 0 && jsonw_time_format(ms, ts) == CD_EOK;
}

int
format_ecs_event(const struct spool_rec *rec, const struct event *ev,
    const struct format_meta *meta, struct buf *out)
{
	struct ecs_doc d;
	struct jsonw j;
	int64_t received = meta->received_ms ? meta->received_ms : rec->received_ms;
	size_t start = out->len;
	bool sysmon;
	int rc = CD_EOK;

	memset(&d, 0, sizeof(d));
	d.ev = ev;
	d.archived = d.is_executable = -1;
	/*
	 * Written straight into out, cut back to its old length on failure
	 * (a scratch buffer cost a malloc, reallocs and a copy per event).
	 * The document is a little longer than the event XML: reserve once.
	 */
	(void)buf_reserve(out, rec->data_len + 1024);
	jsonw_init(&j, out);
	if (!ecs_time_ok(received))
		received = 0;
	if (ev->malformed) {
		ecs_write_malformed(&j, rec, ev, received);
		goto out;
	}
	sysmon = ev->channel != NULL && strcasecmp(ev->channel, ECS_SYSMON_CHANNEL) == 0;
	if (ev->ndata <= ECS_FIELDS_INLINE) {
		d.used = d.used_s;
		d.empty = d.empty_s;
		d.key = d.key_s;
	} else {
		d.used = calloc(ev->ndata, sizeof(*d.used));
		d.empty = calloc(ev->ndata, sizeof(*d.empty));
		d.key = calloc(ev->ndata, sizeof(*d.key));
		if (d.used == NULL || d.empty == NULL || d.key == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < ev->ndata; i++) {
		const char *n = ev->data[i].name != NULL ? ev->data[i].name : "";
		d.key[i] = ecs_key(n, strlen(n));
	}
	if (sysmon && (rc = ecs_map_sysmon(&d)) != CD_EOK)
		goto out;
	/* The collector's own rule file names the rule when Sysmon's did not. */
	if (sysmon && d.rule_name == NULL && meta->rule_name != NULL && *meta->rule_name)
		d.rule_name = meta->rule_name;
	if (!ecs_time_ok(d.timestamp))
		d.timestamp = ecs_time_ok(ev->time_created_ms) ? ev->time_created_ms : received;

	jsonw_object_begin(&j);
	jsonw_ktime(&j, "@timestamp", d.timestamp);
	if (sysmon)
		ecs_write_front(&j, &d);
	jsonw_key(&j, "ecs");
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "version", ECS_VERSION);
	jsonw_object_end(&j);
	if (d.error_code != NULL) {
		jsonw_key(&j, "error");
		jsonw_object_begin(&j);
		jsonw_kstring(&j, "code", d.error_code);
		jsonw_object_end(&j);
	}
	ecs_write_event(&j, &d, sysmon, received);
	if (sysmon)
		ecs_write_file(&j, &d);
	ecs_write_host(&j, ev->computer);
	if (ev->level <= 5) {
		static const char *const levels[] = {
			"information", "critical", "error", "warning", "information", "verbose",
		};
		jsonw_key(&j, "log");
		jsonw_object_begin(&j);
		jsonw_kstring(&j, "level", levels[ev->level]);
		jsonw_object_end(&j);
	}
	if (sysmon)
		ecs_write_back(&j, &d);
	ecs_write_winlog(&j, &d, sysmon);
	jsonw_object_end(&j);
out:
	if (rc == CD_EOK)
		rc = jsonw_finish(&j);
	if (rc != CD_EOK) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	ecs_doc_free(&d);
	return rc;
}
