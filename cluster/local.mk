# Cluster mode on etcd: the key layout, instance ownership (lease and
# fencing), the cluster-wide grace and the administrator's reads and
# changes.  Above common/store; statd/ and nfs4rec/ never see it.
noinst_LIBRARIES += cluster/libcluster.a
cluster_libcluster_a_SOURCES = \
	cluster/keys.cc cluster/keys.h \
	cluster/grace_port.h \
	cluster/instance_lock.cc cluster/instance_lock.h \
	cluster/cluster_grace.cc cluster/cluster_grace.h \
	cluster/cluster_admin.cc cluster/cluster_admin.h
CLUSTER_LIBS = cluster/libcluster.a $(ETCD_LIBS)

# Names, keys and the strict decoding of values (no etcd).
check_PROGRAMS += cluster/keys_test
TESTS += cluster/keys_test
cluster_keys_test_SOURCES = cluster/keys_test.cc
cluster_keys_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
cluster_keys_test_LDADD = $(CLUSTER_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# InstanceLock, ClusterGrace and ClusterAdmin against one 3-member etcd
# cluster (tests/support/etcd-cluster), in a private network namespace when
# root; SKIP (77) without etcd.
check_PROGRAMS += cluster/cluster_etcd_test
TESTS += cluster/cluster_etcd_test.sh
EXTRA_DIST += cluster/cluster_etcd_test.sh
cluster_cluster_etcd_test_SOURCES = cluster/cluster_etcd_test.cc
cluster_cluster_etcd_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
cluster_cluster_etcd_test_LDADD = $(CLUSTER_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(CURL_LIBS) \
	$(SYS_LIBS)
