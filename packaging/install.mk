# packaging/install.mk - make install / make uninstall (included by the top
# Makefile: include packaging/install.mk).
#
#   make install     build if needed, then install (as root):
#                      $(MODDIR)/mod_devprov.so            the module
#                      $(APACHE_CONFDIR)/mods-available/devprov.load, .conf
#                                                          for "a2enmod devprov"
#                      $(APACHE_CONFDIR)/sites-available/devprov-provisioning.conf
#                                                          the example site, not
#                                                          enabled ("a2ensite
#                                                          devprov-provisioning")
#                      $(BINDIR)/devprov-check             the CLI
#                      $(MANDIR)/man1/devprov-check.1
#                      $(DOCDIR)/README
#                      $(DOCDIR)/doc/*.md                  the manual (doc/index.md),
#                                                          where the README's
#                                                          "doc/..." names it
#                      $(EXAMPLESDIR)/                     the example site's
#                                                          document roots (www/,
#                                                          bootstrap/), allowlist
#                                                          and revocation list
#                                                          examples, sql/
#                    Nothing is enabled and no server is (re)started.
#                    Defaults: PREFIX=/usr/local as autotools projects do
#                    (/usr is dpkg's), MODDIR from "apxs -q LIBEXECDIR"
#                    (/usr/lib/apache2/modules, where Debian's apache2
#                    looks), APACHE_CONFDIR=/etc/apache2 (or the
#                    environment's, as a2enmod reads it).  DESTDIR is
#                    honoured (staged installs, packaging: debian/rules
#                    sets PREFIX=/usr).
#                    Refused (as is make uninstall) when a file it would
#                    write or remove belongs to a Debian package
#                    ("dpkg-query -S": e.g. libapache2-mod-devprov is
#                    installed), unless FORCE=1; not checked with DESTDIR.
#   make uninstall   remove all of it again (refused while devprov or the
#                    example site is enabled in $(APACHE_CONFDIR): a2dismod /
#                    a2dissite first, or FORCE=1).
#   make deb         the Debian package libapache2-mod-devprov (debian/), at
#                    the end of this file
#   make install-patched-ssl / uninstall-patched-ssl
#                    optional: the patched mod_ssl (make mod_ssl) as
#                    $(MODDIR)/mod_ssl_expired.so with
#                    mods-available/ssl_expired.{load,conf}, the module
#                    "ssl_expired" (as libapache2-mod-ssl-expired installs
#                    it), not enabled; doc/mod_ssl-patch.md says how to
#                    switch to it.
#
# Configuration files (mods-available, sites-available) are never
# overwritten or removed once the administrator has changed them: what make
# install put there is recorded in $(DATADIR)/devprov/dist/; a changed file
# is kept, the new version written beside it as <file>.devprov-new, with a
# notice (packaging/conffile.sh).
#
# The installed devprov.load names $(MODDIR), and devprov.conf and the
# example site name $(EXAMPLESDIR), so a different PREFIX or MODDIR stays
# consistent.

DESTDIR        ?=
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/devprov
EXAMPLESDIR    ?= $(DOCDIR)/examples
MODDIR         ?= $(or $(shell $(APXS) -q LIBEXECDIR 2>/dev/null),/usr/lib/apache2/modules)
APACHE_CONFDIR ?= /etc/apache2
DISTDIR        ?= $(DATADIR)/devprov/dist
SITE_NAME      := devprov-provisioning
INSTALL        ?= install

CONFFILE   := sh packaging/conffile.sh

# the example site's files (env.php is a test aid, not for production)
EXAMPLE_FILES := \
    www/000000000000.cfg www/render.php www/firmware/README.txt \
    bootstrap/000000000000.cfg bootstrap/bootstrap.cfg \
    allowlist.example revoked.example \
    sql/schema.sql sql/phones.example.sql \
    sites/mixed-fleet.conf.in allowlist.mixed.example \
    fail2ban/filter.d/devprov.conf fail2ban/jail.d/devprov.conf

# the manual, installed under $(DOCDIR)/doc/ so that the README's and the
# pages' relative names (doc/directives.md, ../README) hold there too
DOC_PAGES := $(sort $(notdir $(wildcard doc/*.md)))

# conffiles, relative to APACHE_CONFDIR
CONFFILES := mods-available/devprov.load mods-available/devprov.conf \
             sites-available/$(SITE_NAME).conf

.PHONY: install uninstall install-patched-ssl uninstall-patched-ssl

# every file install writes and uninstall removes, as the system names it
INSTALLED_FILES = $(MODDIR)/mod_devprov.so $(BINDIR)/devprov-check \
    $(MANDIR)/man1/devprov-check.1 $(DOCDIR)/README \
    $(addprefix $(DOCDIR)/doc/,$(DOC_PAGES)) \
    $(addprefix $(EXAMPLESDIR)/,$(EXAMPLE_FILES)) \
    $(addprefix $(APACHE_CONFDIR)/,$(CONFFILES))

# Refuse to overwrite or remove files a Debian package owns: dpkg would
# not know, and its next upgrade or removal would undo ours (or we its).
# Not with DESTDIR (a staged tree is nobody's), nor with FORCE=1.
DPKG_QUERY ?= dpkg-query
define dpkg_owned_check
	@if [ -z "$(DESTDIR)" ] && [ -z "$(FORCE)" ] && \
	    command -v $(DPKG_QUERY) >/dev/null 2>&1; then \
	    owned=$$($(DPKG_QUERY) -S $(INSTALLED_FILES) 2>/dev/null | \
	             grep -v '^diversion by' | grep ': /' || true); \
	    if [ -n "$$owned" ]; then \
	        echo "devprov: make $(1) refused: these files belong to Debian packages" >&2; \
	        echo "$$owned" | sed 's/^/  /' >&2; \
	        echo "devprov: remove the package (apt-get remove <package>), or install" \
	             "elsewhere (PREFIX=, MODDIR=, APACHE_CONFDIR=), or FORCE=1" >&2; \
	        exit 1; \
	    fi; \
	fi
endef

# -- install ---------------------------------------------------------------
install: $(BUILD)/mod_devprov.so $(BUILD)/devprov-check
	$(call dpkg_owned_check,install)
	$(INSTALL) -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0644 $(BUILD)/mod_devprov.so $(DESTDIR)$(MODDIR)/mod_devprov.so
	$(INSTALL) -m 0755 $(BUILD)/devprov-check $(DESTDIR)$(BINDIR)/devprov-check
	$(INSTALL) -m 0644 doc/devprov-check.1 $(DESTDIR)$(MANDIR)/man1/devprov-check.1
	$(INSTALL) -m 0644 README $(DESTDIR)$(DOCDIR)/README
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/doc
	$(INSTALL) -m 0644 $(addprefix doc/,$(DOC_PAGES)) $(DESTDIR)$(DOCDIR)/doc/
	@set -e; for f in $(EXAMPLE_FILES); do \
	    $(INSTALL) -d $(DESTDIR)$(EXAMPLESDIR)/$$(dirname $$f); \
	    $(INSTALL) -m 0644 conf/$$f $(DESTDIR)$(EXAMPLESDIR)/$$f; \
	done; echo "installed examples in $(DESTDIR)$(EXAMPLESDIR)"
	@# the conffiles with this installation's paths, staged in a directory
	@# of this "make install" (two with other variables can run at once)
	@set -e; stage=$$(mktemp -d); trap 'rm -rf "$$stage"' EXIT; \
	sh packaging/stage-conffiles.sh $$stage $(MODDIR) $(EXAMPLESDIR) \
	    $(APACHE_CONFDIR) $(SITE_NAME); \
	for f in $(CONFFILES); do \
	    $(CONFFILE) install $$stage/$$f $(DESTDIR)$(APACHE_CONFDIR)/$$f \
	        $(DESTDIR)$(DISTDIR)/$$f; \
	done
	@echo
	@echo "devprov installed.  Next: a2enmod devprov (enables ssl too), put the"
	@echo "vendor CAs, the allowlist and the server certificate in place, edit"
	@echo "$(APACHE_CONFDIR)/sites-available/$(SITE_NAME).conf (the example site),"
	@echo "a2ensite $(SITE_NAME), apache2ctl configtest, systemctl reload apache2."

# -- uninstall -------------------------------------------------------------
uninstall:
	$(call dpkg_owned_check,uninstall)
	@if [ -z "$(FORCE)" ]; then \
	    for f in mods-enabled/devprov.load sites-enabled/$(SITE_NAME).conf; do \
	        if [ -e $(DESTDIR)$(APACHE_CONFDIR)/$$f ] || [ -L $(DESTDIR)$(APACHE_CONFDIR)/$$f ]; then \
	            echo "devprov: $(DESTDIR)$(APACHE_CONFDIR)/$$f is enabled; run" \
	                 "a2dismod devprov / a2dissite $(SITE_NAME) first (or make uninstall FORCE=1)" >&2; \
	            exit 1; \
	        fi; \
	    done; \
	fi
	rm -f $(DESTDIR)$(MODDIR)/mod_devprov.so $(DESTDIR)$(BINDIR)/devprov-check \
	    $(DESTDIR)$(MANDIR)/man1/devprov-check.1 $(DESTDIR)$(DOCDIR)/README \
	    $(addprefix $(DESTDIR)$(DOCDIR)/doc/,$(DOC_PAGES))
	@set -e; for f in $(EXAMPLE_FILES); do \
	    rm -f $(DESTDIR)$(EXAMPLESDIR)/$$f; \
	done
	@set -e; for f in $(CONFFILES); do \
	    $(CONFFILE) remove $(DESTDIR)$(APACHE_CONFDIR)/$$f $(DESTDIR)$(DISTDIR)/$$f; \
	done
	@# our own directories, if empty now (never the shared ones)
	@for d in $(EXAMPLESDIR)/www/firmware $(EXAMPLESDIR)/www \
	          $(EXAMPLESDIR)/bootstrap $(EXAMPLESDIR)/sql \
	          $(EXAMPLESDIR)/sites $(EXAMPLESDIR)/fail2ban/filter.d \
	          $(EXAMPLESDIR)/fail2ban/jail.d $(EXAMPLESDIR)/fail2ban \
	          $(EXAMPLESDIR) \
	          $(DOCDIR)/doc $(DOCDIR) $(DISTDIR)/mods-available $(DISTDIR)/sites-available \
	          $(DISTDIR) $(DATADIR)/devprov; do \
	    [ -d $(DESTDIR)$$d ] && rmdir $(DESTDIR)$$d 2>/dev/null || true; \
	done
	@echo "devprov uninstalled"

# -- optional: the patched mod_ssl beside Debian's -------------------------
# As the package libapache2-mod-ssl-expired installs it: the module
# "ssl_expired" (a2enmod ssl_expired, after a2dismod ssl), never loaded by
# anything until enabled.  Its .load/.conf are conffiles as above.
SSL_CONFFILES := mods-available/ssl_expired.load mods-available/ssl_expired.conf

install-patched-ssl: $(BUILD)/mod_ssl.so
	$(INSTALL) -d $(DESTDIR)$(MODDIR)
	$(INSTALL) -m 0644 $(BUILD)/mod_ssl.so $(DESTDIR)$(MODDIR)/mod_ssl_expired.so
	@set -e; stage=$$(mktemp -d); trap 'rm -rf "$$stage"' EXIT; \
	mkdir -p $$stage/mods-available; \
	sed -e "s|/usr/lib/apache2/modules/mod_ssl_expired\.so|$(MODDIR)/mod_ssl_expired.so|" \
	    conf/ssl_expired.load > $$stage/mods-available/ssl_expired.load; \
	sed -e "s|/etc/apache2/mods-available/ssl\.conf|$(APACHE_CONFDIR)/mods-available/ssl.conf|" \
	    conf/ssl_expired.conf > $$stage/mods-available/ssl_expired.conf; \
	for f in $(SSL_CONFFILES); do \
	    $(CONFFILE) install $$stage/$$f $(DESTDIR)$(APACHE_CONFDIR)/$$f \
	        $(DESTDIR)$(DISTDIR)/$$f; \
	done
	@echo "installed $(DESTDIR)$(MODDIR)/mod_ssl_expired.so as the module ssl_expired"
	@echo "(not enabled): a2dismod ssl && a2enmod ssl_expired (doc/mod_ssl-patch.md)"

uninstall-patched-ssl:
	@if [ -z "$(FORCE)" ] && { [ -e $(DESTDIR)$(APACHE_CONFDIR)/mods-enabled/ssl_expired.load ] || \
	    [ -L $(DESTDIR)$(APACHE_CONFDIR)/mods-enabled/ssl_expired.load ]; }; then \
	    echo "devprov: ssl_expired is enabled in $(APACHE_CONFDIR); run" \
	         "a2dismod ssl_expired && a2enmod ssl first (or FORCE=1)" >&2; exit 1; \
	fi
	rm -f $(DESTDIR)$(MODDIR)/mod_ssl_expired.so
	@set -e; for f in $(SSL_CONFFILES); do \
	    $(CONFFILE) remove $(DESTDIR)$(APACHE_CONFDIR)/$$f $(DESTDIR)$(DISTDIR)/$$f; \
	done

# -- the Debian packages (debian/) -----------------------------------------
#   make deb     dpkg-buildpackage -us -uc -b, with the results moved from
#                the parent directory into $(BUILD)/deb/:
#                libapache2-mod-devprov_<version>_<arch>.deb,
#                libapache2-mod-ssl-expired_<version>_<arch>.deb (+ their
#                -dbgsym, .buildinfo, .changes).  The patched mod_ssl's
#                apache2 source comes from "make mod_ssl" (the installed
#                apache2's, or the build stops: doc/mod-ssl-source.md) and
#                is passed to debian/rules as APACHE2_DSC.  Needs dpkg-dev,
#                debhelper, apache2-dev, libssl-dev (make deps installs
#                them).
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
DEB_ARCH    = $(shell dpkg-architecture -qDEB_HOST_ARCH)
DEB_PKGS    = libapache2-mod-devprov libapache2-mod-ssl-expired

.PHONY: deb deb-clean
deb: $(BUILD)/mod_ssl.so
	@dsc=$$(sed -n 's/^dsc=//p' $(BUILD)/mod_ssl.so.source); \
	test -n "$$dsc" -a -f "$(BUILD)/apache2-dl/$$dsc" || \
	    { echo "devprov: no apache2 source in $(BUILD)/apache2-dl (make mod_ssl)" >&2; exit 1; }; \
	echo "devprov: the patched mod_ssl from $(BUILD)/apache2-dl/$$dsc"; \
	APACHE2_DSC=$(abspath $(BUILD))/apache2-dl/$$dsc dpkg-buildpackage -us -uc -b
	@mkdir -p $(BUILD)/deb
	mv $(foreach p,$(DEB_PKGS),../$(p)_$(DEB_VERSION)_$(DEB_ARCH).deb \
	       ../$(p)-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb) \
	   ../devprov_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
	   ../devprov_$(DEB_VERSION)_$(DEB_ARCH).changes $(BUILD)/deb/
	debian/rules clean
	@for p in $(DEB_PKGS); do echo "== $(BUILD)/deb/$${p}_$(DEB_VERSION)_$(DEB_ARCH).deb"; done

deb-clean:
	rm -rf $(BUILD)/deb
