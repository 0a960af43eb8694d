dnl TS_STRONGSWAN(DIR)
dnl Find a static monolithic strongSwan (libstrongswan + libcharon) installed
dnl by contrib/strongswan/build under DIR.  That script records the compile
dnl and link flags a program needs in DIR/tunsteer-strongswan.sh; we read
dnl them, check that it is strongSwan 6 with ML-KEM, then prove they link
dnl by calling library_init().
AC_DEFUN([TS_STRONGSWAN], [
	ts_ss_dir="$1"
	AS_IF([test ! -r "$ts_ss_dir/tunsteer-strongswan.sh"],
		[AC_MSG_ERROR([$ts_ss_dir is not a strongSwan prefix made by contrib/strongswan/build (no tunsteer-strongswan.sh)])])
	. "$ts_ss_dir/tunsteer-strongswan.sh"
	AC_SUBST([STRONGSWAN_CFLAGS])
	AC_SUBST([STRONGSWAN_LIBS])
	AS_IF([test -z "$STRONGSWAN_PLUGINS"],
		[AC_MSG_ERROR([$ts_ss_dir/tunsteer-strongswan.sh names no STRONGSWAN_PLUGINS; rebuild with contrib/strongswan/build])])
	AC_DEFINE_UNQUOTED([STRONGSWAN_VERSION], ["$STRONGSWAN_VERSION"],
		[Version of the strongSwan linked in.])
	AC_DEFINE_UNQUOTED([STRONGSWAN_PLUGINS], ["$STRONGSWAN_PLUGINS"],
		[Plugins compiled into the static strongSwan, in load order.])
	dnl IPsec to the provider wants ML-KEM (RFC 9370 additional key
	dnl exchanges): strongSwan 6 with the ml plugin compiled in.
	AC_MSG_CHECKING([whether $ts_ss_dir has ML-KEM (strongSwan 6, ml plugin)])
	AS_CASE([" $STRONGSWAN_PLUGINS "], [*" ml "*], [],
		[AC_MSG_RESULT([no]); AC_MSG_ERROR([$ts_ss_dir has no ml plugin; rebuild with contrib/strongswan/build])])
	ts_save_CFLAGS="$CFLAGS"
	CFLAGS="$CFLAGS $STRONGSWAN_CFLAGS"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[
#include <library.h>
#include <crypto/key_exchange.h>
#include <crypto/transform.h>
]], [[
	key_exchange_method_t m = ML_KEM_768;
	transform_type_t t = ADDITIONAL_KEY_EXCHANGE_1;
	return (int)m + (int)t;
]])], [AC_MSG_RESULT([yes])],
	[AC_MSG_RESULT([no]); AC_MSG_ERROR([$ts_ss_dir is older than strongSwan 6 (no ML_KEM_768); rebuild with contrib/strongswan/build])])
	CFLAGS="$ts_save_CFLAGS"
	AC_MSG_CHECKING([whether libcharon links statically from $ts_ss_dir])
	ts_save_CFLAGS="$CFLAGS"; ts_save_LIBS="$LIBS"
	CFLAGS="$CFLAGS $STRONGSWAN_CFLAGS"; LIBS="$STRONGSWAN_LIBS $LIBS"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([[
#include <library.h>
#include <daemon.h>
]], [[
	if (library_init(NULL, "configure"))
		libcharon_init();
	library_deinit();
]])], [AC_MSG_RESULT([yes])],
	[AC_MSG_RESULT([no]); AC_MSG_ERROR([cannot link libcharon from $ts_ss_dir; see config.log])])
	CFLAGS="$ts_save_CFLAGS"; LIBS="$ts_save_LIBS"
])
