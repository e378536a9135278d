# Packaging: the Debian package builds and is lintian-clean; make install
# with DESTDIR puts every file where expected.
PACKAGING_TESTS = tests/packaging/deb-builds-and-lintian-clean.sh \
	tests/packaging/switch-order-and-idempotence.sh \
	tests/packaging/make-install-destdir.sh
TESTS += $(PACKAGING_TESTS)
EXTRA_DIST += $(PACKAGING_TESTS)
# The package's build does not depend on this build's flags: the sanitized
# pass does not build it again.
if SANITIZED
AM_TESTS_ENVIRONMENT += NFSREC_SANITIZED_PASS=1; export NFSREC_SANITIZED_PASS;
endif
