noinst_LIBRARIES += statd/libstatd.a
statd_libstatd_a_SOURCES = \
	statd/monitor.h \
	statd/nsm_store.h
