# Packaging: the Debian package builds and is lintian-clean; make install
# with DESTDIR puts every file where expected.
PACKAGING_TESTS = tests/packaging/deb-builds-and-lintian-clean.sh \
	tests/packaging/switch-order-and-idempotence.sh \
	tests/packaging/make-install-destdir.sh
# In TESTS from the start (Makefile.am): they run first.
EXTRA_DIST += $(PACKAGING_TESTS)
# Tests that exercise none of this build's compiled code under the
# sanitizers (the package, which is built with its own flags; make install;
# the switch script; the source tree's format, layering and docs) skip in
# the sanitized pass: the plain pass runs them.
if SANITIZED
AM_TESTS_ENVIRONMENT += NFSREC_SANITIZED_PASS=1; export NFSREC_SANITIZED_PASS;
endif
