# Cluster mode end to end: a 3-member etcd and nfsrecd nodes in network
# namespaces with the FUSE kernel emulator (tests/cluster/lib.sh).  SKIP
# (77) when not root, or without etcd or FUSE.
CLUSTER_TESTS = \
	tests/cluster/010-failover-and-cluster-grace.sh \
	tests/cluster/020-nsm-follows-the-address.sh \
	tests/cluster/030-etcd-without-quorum.sh \
	tests/cluster/040-whole-cluster-reboot.sh
TESTS += $(CLUSTER_TESTS)
EXTRA_DIST += $(CLUSTER_TESTS) tests/cluster/lib.sh tests/cluster/demo.sh
