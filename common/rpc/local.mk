# ONC RPC: message codec, dispatcher, UDP and TCP transports, server,
# addresses, rpcbind protocol and adapter, UDP client.
noinst_LIBRARIES += common/rpc/librpc.a
common_rpc_librpc_a_SOURCES = \
	common/rpc/dispatcher.cc common/rpc/dispatcher.h \
	common/rpc/rpc_message.cc common/rpc/rpc_message.h \
	common/rpc/rpc_server.cc common/rpc/rpc_server.h \
	common/rpc/rpcbind.cc common/rpc/rpcbind.h \
	common/rpc/rpcbind_protocol.cc common/rpc/rpcbind_protocol.h \
	common/rpc/sockaddr.cc common/rpc/sockaddr.h \
	common/rpc/tcp_transport.cc common/rpc/tcp_transport.h \
	common/rpc/udp_rpc_client.cc common/rpc/udp_rpc_client.h \
	common/rpc/udp_transport.cc common/rpc/udp_transport.h

# One test program, one test file per module.
check_PROGRAMS += common/rpc/rpc_test
TESTS += common/rpc/rpc_test
common_rpc_rpc_test_SOURCES = \
	common/rpc/dispatcher_test.cc \
	common/rpc/rpc_message_test.cc \
	common/rpc/rpc_server_test.cc \
	common/rpc/rpc_test_harness.h \
	common/rpc/rpcbind_protocol_test.cc \
	common/rpc/rpcbind_watch_test.cc \
	common/rpc/sockaddr_test.cc \
	common/rpc/tcp_transport_test.cc \
	common/rpc/udp_transport_test.cc
common_rpc_rpc_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_rpc_rpc_test_LDADD = tests/support/librpctest.a $(COMMON_LIBS) rpcgen/librpcxdr.a \
	$(GTEST_LIBS) $(SYS_LIBS)
