/*
 * tally.js: Tally's own browser tracker, served minified by the collector at /tally.js.
 *   <script defer src="https://collector.example/tally.js" data-mid="G-XXXXXXX"></script>
 * Options: data-api (collector origin, default the script's), data-cookie="on" (first-party client
 * id for sites that have consent; default cookieless: the collector hashes IP + UA per day).
 * API: tally('event', name, params) · tally('user', id) · tally('consent', { analytics_storage: 'granted' })
 * Calls made before the script loads are queued by the snippet
 *   window.tally = window.tally || function () { (tally.q = tally.q || []).push(arguments) };
 */
(function (w, d) {
  var s = d.currentScript;
  if (!s || w.tally && w.tally.l) return;
  var nav = navigator, loc = location, KEY = '_tally_id';
  var mid = s.getAttribute('data-mid');
  var url = (s.getAttribute('data-api') || new URL(s.src).origin) + '/t/collect?mid=' + encodeURIComponent(mid);
  var cookie = s.getAttribute('data-cookie') == 'on';
  var q = [], uid = null, consent = null, cid = null, timer = 0;
  var last = '', maxScroll = 0, scrolled = 0, engMs = 0, engFrom = 0;

  function visible() {
    return d.visibilityState == 'visible';
  }

  function clientId() {
    if (!cookie) return null;
    if (!cid) {
      var m = d.cookie.match(/(?:^|; )_tally_id=([\w.-]+)/);
      try {
        cid = m ? m[1] : localStorage.getItem(KEY);
      } catch (e) {}
      cid = cid || Date.now().toString(36) + '.' + Math.random().toString(36).slice(2, 12);
      d.cookie = KEY + '=' + cid + ';max-age=63072000;path=/;samesite=lax';
      try {
        localStorage.setItem(KEY, cid);
      } catch (e) {}
    }
    return cid;
  }

  function flush() {
    clearTimeout(timer);
    if (!q.length) return;
    var body = JSON.stringify({ c: clientId(), u: uid, l: nav.language, s: screen.width + 'x' + screen.height, cs: consent, st: Date.now(), e: q });
    q = [];
    if (!(nav.sendBeacon && nav.sendBeacon(url, body))) fetch(url, { method: 'POST', body: body, keepalive: true }).catch(function () {});
  }

  function track(name, params, ref) {
    q.push({ n: name, u: loc.href, r: ref || null, t: d.title, ts: Date.now(), p: params || {} });
    clearTimeout(timer);
    if (q.length > 19) flush();
    else timer = setTimeout(flush, 200);
  }

  // engagement: visible time on the page since the last report
  function engaged() {
    if (engFrom) engMs += Date.now() - engFrom;
    engFrom = visible() ? Date.now() : 0;
    var ms = engMs;
    engMs = 0;
    return ms;
  }

  function leave() {
    var ms = engaged();
    if (ms > 0) track('user_engagement', { engagement_time_msec: ms, percent_scrolled: maxScroll });
  }

  function page() {
    if (loc.href == last) return;
    var ref = last || d.referrer;
    if (last) leave();
    last = loc.href;
    maxScroll = scrolled = 0;
    track('page_view', {}, ref);
  }

  function command(c, a, b) {
    if (c == 'event') track(String(a), b);
    else if (c == 'user') {
      uid = a ? String(a) : null;
      if (uid) track('tally_identity_link', { user_id: uid });
    } else if (c == 'consent') {
      consent = a;
      if (a && a.analytics_storage == 'denied' && cookie) {
        cookie = false;
        cid = null;
        d.cookie = KEY + '=;max-age=0;path=/';
        try {
          localStorage.removeItem(KEY);
        } catch (e) {}
      }
    }
  }

  var h = history;
  ['pushState', 'replaceState'].forEach(function (k) {
    var orig = h[k];
    h[k] = function () {
      var r = orig.apply(this, arguments);
      page();
      return r;
    };
  });
  w.addEventListener('popstate', page);

  d.addEventListener('visibilitychange', function () {
    if (visible()) engFrom = Date.now();
    else {
      leave();
      flush();
    }
  });
  // pagehide comes before the visibilitychange of an unload: stop the clock so that one reports nothing
  w.addEventListener('pagehide', function () {
    leave();
    engFrom = 0;
    flush();
  });

  w.addEventListener('scroll', function () {
    var max = d.documentElement.scrollHeight - w.innerHeight;
    var pct = max > 0 ? Math.min(100, Math.round((100 * w.scrollY) / max)) : 100;
    if (pct > maxScroll) maxScroll = pct;
    if (maxScroll >= 90 && !scrolled) {
      scrolled = 1;
      track('scroll', { percent_scrolled: 90 });
    }
  }, { passive: true });

  d.addEventListener('click', function (e) {
    var a = e.target && e.target.closest && e.target.closest('a[href]');
    if (!a) return;
    var u = new URL(a.href, loc.href);
    var ext = u.pathname.match(/\.(pdf|zip|gz|tgz|7z|rar|dmg|exe|msi|pkg|apk|iso|csv|xlsx?|docx?|pptx?|odt|ods|txt|rtf|json|xml|mp3|mp4|mov|avi|wav|epub)$/i);
    if (ext || a.hasAttribute('download')) {
      track('file_download', { file_extension: ext ? ext[1].toLowerCase() : '', file_name: u.pathname.split('/').pop(), link_url: u.href, link_text: (a.textContent || '').trim().slice(0, 100) });
    } else if (u.host != loc.host && /^https?:$/.test(u.protocol)) {
      track('click', { link_url: u.href, link_domain: u.hostname, outbound: true });
    } else return;
    flush();
  }, true);

  var queued = (w.tally && w.tally.q) || [];
  w.tally = function () {
    command.apply(null, arguments);
  };
  w.tally.l = 1;
  for (var i = 0; i < queued.length; i++) command.apply(null, queued[i]);
  engFrom = visible() ? Date.now() : 0;
  page();
})(window, document);
