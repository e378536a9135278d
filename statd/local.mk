noinst_LIBRARIES += statd/libstatd.a
statd_libstatd_a_SOURCES = \
	statd/monitor.h \
	statd/nsm_store.h

# SQLite adapter of NsmStore (owned by the store work).
include statd/store.mk
