# XDR routines generated from our .x files at build time (never committed).
# Only the types and xdr_* routines are generated; dispatch is ours.
RPCGEN_X = rpcgen/sm_inter.x
EXTRA_DIST += $(RPCGEN_X)

rpcgen/sm_inter.h: $(srcdir)/rpcgen/sm_inter.x
	@$(MKDIR_P) rpcgen
	$(AM_V_GEN)rm -f $@ && $(RPCGEN) -h -o $@ $(srcdir)/rpcgen/sm_inter.x

rpcgen/sm_inter_xdr.c: $(srcdir)/rpcgen/sm_inter.x rpcgen/sm_inter.h
	@$(MKDIR_P) rpcgen
	$(AM_V_GEN)rm -f $@ $@.tmp && $(RPCGEN) -c -o $@.tmp $(srcdir)/rpcgen/sm_inter.x && \
	  sed 's|^#include ".*sm_inter.h"|#include "sm_inter.h"|' $@.tmp > $@ && rm -f $@.tmp

BUILT_SOURCES += rpcgen/sm_inter.h rpcgen/sm_inter_xdr.c
CLEANFILES += rpcgen/sm_inter.h rpcgen/sm_inter_xdr.c

noinst_LIBRARIES += rpcgen/librpcxdr.a
nodist_rpcgen_librpcxdr_a_SOURCES = rpcgen/sm_inter_xdr.c rpcgen/sm_inter.h
# rpcgen's output declares variables it does not always use.
rpcgen_librpcxdr_a_CFLAGS = $(AM_CFLAGS) -Wall -Werror -Wno-unused-variable
