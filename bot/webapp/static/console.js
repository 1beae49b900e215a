// Pitstop's console: a thin script that asks the bot for pages and puts them in place.
// No text lives here: every word comes from the bot's templates, in the viewer's language.
// No third-party script either: Telegram passes initData and the theme in this page's fragment
// (#tgWebAppData=…&tgWebAppThemeParams=…), which is read here instead of loading telegram-web-app.js.
(function () {
  'use strict';

  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var initData = fragment.get('tgWebAppData') || '';
  var main = document.getElementById('main');
  var notice = document.getElementById('notice');

  // Telegram's theme as CSS variables, named as Telegram's own script names them (--tg-theme-bg-color, …).
  function applyTheme(raw) {
    var theme = {};
    try { theme = JSON.parse(raw || '{}') || {}; } catch (ignored) { theme = {}; }
    Object.keys(theme).forEach(function (name) {
      var value = String(theme[name]);
      if (/^[a-z_]{1,40}$/.test(name) && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        document.documentElement.style.setProperty('--tg-theme-' + name.replace(/_/g, '-'), value);
      }
    });
  }

  // Tells the Telegram app the page is ready and may take the whole height (ignored in an ordinary browser).
  function tell(eventType) {
    try {
      if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
        window.TelegramWebviewProxy.postEvent(eventType, '');
      } else if (window.external && 'notify' in window.external) {
        window.external.notify(JSON.stringify({ eventType: eventType, eventData: '' }));
      } else if (window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: eventType, eventData: '' }), 'https://web.telegram.org');
      }
    } catch (ignored) { /* not inside Telegram */ }
  }

  function address(path) {
    return new URL(path, document.baseURI).toString();
  }

  function ask(path, body) {
    var headers = { 'Authorization': 'tma ' + initData };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    return fetch(address(path), {
      method: body === undefined ? 'GET' : 'POST',
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error'
    }).then(function (response) {
      return response.text().then(function (html) { return { ok: response.ok, status: response.status, html: html }; });
    });
  }

  function show(result) {
    if (result.ok) {
      notice.hidden = true;
      notice.innerHTML = '';
      main.innerHTML = result.html;
      var first = main.firstElementChild;
      if (first && first.dataset.lang) { document.documentElement.lang = first.dataset.lang; }
      window.scrollTo(0, 0);
    } else {
      notice.innerHTML = result.html;
      notice.hidden = false;
      if (result.status === 401 || result.status === 403) { main.innerHTML = ''; }
      notice.scrollIntoView();
    }
  }

  function offline() {
    var lang = document.documentElement.lang;
    var template = document.querySelector('template[data-offline="' + lang + '"]') ||
      document.querySelector('template[data-offline]');
    notice.innerHTML = '';
    notice.appendChild(template.content.cloneNode(true));
    notice.hidden = false;
  }

  function view(name, query) {
    return ask('api/view/' + encodeURIComponent(name) + (query ? '?' + query : '')).then(show, offline);
  }

  function fields(form, submitter) {
    var body = {};
    new FormData(form).forEach(function (value, name) { body[name] = String(value); });
    if (submitter && submitter.name) { body[submitter.name] = submitter.value; }
    return body;
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest('a[data-view]');
    if (!link) { return; }
    event.preventDefault();
    view(link.dataset.view, link.dataset.query || '');
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    event.preventDefault();
    var body = fields(form, event.submitter);
    if (form.dataset.view) {
      view(form.dataset.view, new URLSearchParams(body).toString());
    } else if (form.dataset.post) {
      var buttons = form.querySelectorAll('button');
      buttons.forEach(function (b) { b.disabled = true; });
      ask('api/' + encodeURIComponent(form.dataset.post), body).then(show, offline).then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
    }
  });

  document.addEventListener('change', function (event) {
    var input = event.target;
    if (input.form && input.matches('[data-autosubmit]')) { input.form.requestSubmit(); }
  });

  applyTheme(fragment.get('tgWebAppThemeParams'));
  tell('web_app_ready');
  tell('web_app_expand');
  var page = window.location.pathname.split('/').pop() || 'home';
  view(page, new URLSearchParams(window.location.search).toString());
}());
