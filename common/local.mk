# Shared libraries, split by role.  Dependencies point down only:
#   rpc, store -> os -> base
# Link order for a program: $(COMMON_LIBS) after its own libraries.
include common/base/local.mk
include common/os/local.mk
include common/store/local.mk
include common/rpc/local.mk

COMMON_LIBS = common/rpc/librpc.a common/store/libstore.a common/os/libos.a common/base/libbase.a
