/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The strongSwan side of checking an ipsec tunnel's ike group: identities
 * and proposals are read by libstrongswan itself, as charon will read
 * them, and every algorithm a proposal names must be provided by a plugin
 * of the strongSwan linked in.  config.c calls these while it validates;
 * only this module includes strongSwan's headers.
 *
 * libstrongswan is reference counted.  The first check of a config
 * takes a reference: if nobody has libstrongswan up, this brings it up
 * (no strongswan.conf read, only the crypto plugins of the build loaded,
 * strongSwan's own log silenced) and ike_check_end() takes it down again;
 * if ike.c has it up for charon, the checks borrow that, plugins and
 * all.  Holding nothing between configs keeps libstrongswan's namespace
 * and settings whatever ike.c gives them, and a config without ipsec
 * tunnels never pays for libstrongswan at all.  Main thread only: the
 * checks keep their state in this module.
 */
#ifndef TUNSTEER_IKE_CHECK_H
#define TUNSTEER_IKE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any message below (they quote the value they are about). */
#define IKE_CHECK_WHY_MAX 512

/*
 * Is @id (strongSwan identity syntax: an IPv4 or IPv6 address, an RFC822
 * address with @, an FQDN, "keyid:...", a DN; "fqdn:" and the like
 * force a type) one charon can use as an IKEv2 identity, this side's
 * (@local: no wildcards) or the peer's?  Returns 0 with the type's
 * strongSwan name ("ID_FQDN", static) in *@type; 1 likewise but with a
 * warning in @why (an FQDN that looks like a key ID); -EINVAL with what
 * is wrong in @why; -EIO if libstrongswan could not be brought up
 * (@why says so).  @why is "\"ID\": what" and holds @len bytes.
 */
int ike_check_id(const char *id, bool local, const char **type, char *why,
		 size_t len) __attribute__((warn_unused_result));

/* The underlay an ipsec tunnel's MTU is reckoned on: Ethernet's. */
#define ESP_UNDERLAY_MTU 1500

/*
 * Is @list one or more comma-separated strongSwan proposals for IKE
 * (@esp false) or ESP that libstrongswan's proposal_create_from_string()
 * accepts, whose every algorithm (and the PRF strongSwan derives from an
 * integrity algorithm) a loaded plugin provides, and which keeps
 * extended sequence numbers off (the provider's rule)?  Returns 0, or
 * -EINVAL with "\"PROPOSAL\": what is wrong" in @why, -ENOMEM, or -EIO
 * as ike_check_id().
 */
int ike_check_proposals(const char *list, bool esp, char *why, size_t len)
	__attribute__((warn_unused_result));

/*
 * The largest inner packet that ESP in tunnel mode carries, over IPv4, in
 * an outer packet of @underlay_mtu bytes, with every proposal of @list
 * (already accepted by ike_check_proposals(), esp) whichever of its
 * algorithms is negotiated, and with UDP encapsulation (NAT-T, 8 bytes)
 * if @nat_t: the worst case of what is configured, since what is
 * negotiated, and whether a NAT is in the way, is known only at run time.
 * Per algorithm: the IV, the ICV (an AEAD's own, or the integrity
 * algorithm's truncated output) and the cipher's block, to which the
 * payload and the 2-byte ESP trailer are padded (4 at least).  An
 * algorithm we have no sizes for counts as a 16-byte IV and block and a
 * 32-byte ICV.  0 with *@mtu, -EINVAL (a proposal that does not parse),
 * -ENOMEM or -EIO as ike_check_id().
 */
int ike_check_esp_mtu(const char *list, unsigned int underlay_mtu,
		      bool nat_t, unsigned int *mtu)
	__attribute__((warn_unused_result));

/*
 * The same for one negotiated transform: encryption algorithm @enc and
 * integrity algorithm @integ (IANA transform IDs, as strongSwan numbers
 * them; @integ 0 with an AEAD), UDP encapsulation if @nat_t.  What an
 * installed CHILD SA's interface can carry (ike_sa_info.mtu).  0 if
 * @underlay_mtu leaves no room.  Needs no library state.
 */
unsigned int ike_check_esp_mtu_algs(uint16_t enc, uint16_t integ,
				    unsigned int underlay_mtu, bool nat_t);

/* Can this build have ipsec tunnels at all: false in one configured
 * --without-strongswan, where ike_none.c stands in for this module and
 * ike_charon.c, and config.c refuses `type = "ipsec"`. */
bool ike_check_available(void);

/* Why not, when ike_check_available() is false: "needs …", for
 * config.c's message about `type = "ipsec"`. */
const char *ike_check_unavailable(void);

/* Let go of libstrongswan if a check since the last call took it; a
 * no-op otherwise.  config.c calls it once a config has been checked. */
void ike_check_end(void);

/* How many times the checks have brought libstrongswan up themselves
 * (tests: a config without ipsec tunnels must not). */
unsigned int ike_check_inits(void);

#endif
