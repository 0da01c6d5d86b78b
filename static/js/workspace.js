// The agent's workspace, kept live over the agent websocket (/ws/agent/).
//
// A "state" message updates the state display; a "call" message brings the call's card, fetched
// from the server as rendered HTML (translated and scoped like any page), or moves the status of
// a card already shown. A "ringing" message (sent by the webhook before the event is in the call
// log) shows the caller and their customers at once, until the call's card replaces it. After a
// dropped connection it reconnects by itself, waiting 1 s and then twice as long each time, up to
// 15 s; the server sends the current states and calls again on every connect, so nothing is
// missed. Every text shown comes from the page (#workspace-strings).
(function () {
  "use strict";
  var root = document.getElementById("workspace");
  if (!root) {
    return;
  }
  var strings = JSON.parse(document.getElementById("workspace-strings").textContent);
  var banner = document.getElementById("ws-status");
  var stateBox = document.getElementById("agent-state");
  var stateForm = document.getElementById("state-form");
  var stateError = document.getElementById("state-error");
  var cardBox = document.getElementById("call-card");
  var MIN_DELAY = 1000;
  var MAX_DELAY = 15000;
  var delay = MIN_DELAY;
  // A call only moves forward: a late or repeated message never takes its card back.
  var RANK = { ringing: 0, on_call: 1, ended: 2 };
  var states = {}; // agent row id -> its latest state payload
  var pending = {}; // call id -> the latest status pushed while its card is being fetched
  var known = {}; // PBX call id -> true once a "call" message named it: its card comes or came
  var NOTICE_SECONDS = 60; // a notice whose card never came (a repeated, late event) goes
  var timeFormat = makeTimeFormat();

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) {
      return key in values ? String(values[key]) : match;
    });
  }

  function makeTimeFormat() {
    // The user's zone (the server renders times in it too), not the browser's.
    var options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    var lang = document.documentElement.lang || undefined;
    if (root.dataset.timeZone) {
      options.timeZone = root.dataset.timeZone;
    }
    try {
      return new Intl.DateTimeFormat(lang, options);
    } catch (error) {
      delete options.timeZone;
      return new Intl.DateTimeFormat(lang, options);
    }
  }

  function hms(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    return hours + ":" + (minutes < 10 ? "0" : "") + minutes + ":" + (secs < 10 ? "0" : "") + secs;
  }

  // --- the connection ---------------------------------------------------------------------------

  function showBanner(state, text) {
    banner.dataset.state = state;
    banner.textContent = text;
    banner.hidden = state === "open";
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.addEventListener("open", function () {
      delay = MIN_DELAY;
      showBanner("open", strings.connected);
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "state" && message.state) {
        onState(message.state);
      } else if (message.type === "call" && message.call) {
        onCall(message.call);
      } else if (message.type === "ringing" && message.ringing) {
        onRinging(message.ringing);
      }
    });
    socket.addEventListener("close", function () {
      var wait = delay;
      delay = Math.min(delay * 2, MAX_DELAY);
      showBanner("reconnecting", format(strings.reconnecting, { seconds: wait / 1000 }));
      window.setTimeout(connect, wait);
    });
  }

  // --- the agent's state ------------------------------------------------------------------------

  function stateLabel(code) {
    return strings.states[code] || code;
  }

  function tick() {
    var elapsed = stateBox.querySelector('[data-role="elapsed"]');
    if (!stateBox.dataset.since || !elapsed) {
      return;
    }
    var seconds = Math.floor((Date.now() - Date.parse(stateBox.dataset.since)) / 1000);
    elapsed.textContent = "(" + hms(Math.max(0, seconds)) + ")";
  }

  function renderState(payload) {
    stateBox.dataset.state = payload.state;
    stateBox.dataset.since = payload.since;
    stateBox.querySelector('[data-role="label"]').textContent = stateLabel(payload.state);
    stateBox.querySelector('[data-role="reason"]').textContent = payload.pause_reason || "";
    var since = stateBox.querySelector('[data-role="since"]');
    since.dateTime = payload.since;
    since.textContent = timeFormat.format(new Date(payload.since));
    stateBox.querySelector('[data-role="since-wrap"]').hidden = false;
    if (stateForm) {
      stateForm.querySelectorAll("button[data-state]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.state === payload.state));
      });
    }
    tick();
  }

  function renderLatest() {
    // One person, one state: with rows in several companies the latest change tells.
    var latest = null;
    Object.keys(states).forEach(function (id) {
      var candidate = states[id];
      if (!latest || Date.parse(candidate.since) >= Date.parse(latest.since)) {
        latest = candidate;
      }
    });
    if (latest) {
      renderState(latest);
    }
  }

  function onState(payload) {
    var before = states[payload.agent_id];
    states[payload.agent_id] = payload;
    if (!before || before.state !== payload.state) {
      showStateError(""); // a refusal no longer applies once the state has moved
    }
    var row = document.querySelector(
      '#agent-state-list [data-agent-id="' + payload.agent_id + '"] [data-role="label"]'
    );
    if (row) {
      row.textContent = stateLabel(payload.state);
    }
    renderLatest();
    // A call that stopped ringing here without a word to us went to another agent.
    if (before && before.state === "ringing" && before.call_id && before.call_id !== payload.call_id) {
      var card = findCard(before.call_id);
      if (card && card.dataset.status === "ringing") {
        refreshCard(card);
      }
    }
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        return { ok: false, status: response.status, body: {} };
      }
      return response.json().then(function (body) {
        return { ok: response.ok, status: response.status, body: body };
      });
    });
  }

  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) {
      data.append(submitter.name, submitter.value);
    }
    return data;
  }

  function showStateError(text) {
    stateError.textContent = text;
    stateError.hidden = !text;
  }

  if (stateForm) {
    stateForm.addEventListener("submit", function (event) {
      event.preventDefault();
      post(stateForm.action, formData(stateForm, event.submitter))
        .then(function (result) {
          if (result.ok) {
            showStateError("");
            (result.body.states || []).forEach(onState);
          } else {
            showStateError(result.body.error || strings.save_failed);
          }
        })
        .catch(function () {
          showStateError(strings.save_failed);
        });
    });
  }

  // --- call cards -------------------------------------------------------------------------------

  function callStatus(call) {
    // The rule of workspace.call_status: an answered call stays "answered" until it ends.
    if (call.ended_at || (call.outcome !== "in_progress" && call.outcome !== "answered")) {
      return "ended";
    }
    return call.answered_at ? "on_call" : "ringing";
  }

  function findCard(id) {
    return cardBox.querySelector('.call-card[data-call-id="' + id + '"]');
  }

  function cardUrl(id) {
    return root.dataset.cardUrl.replace("/0/", "/" + id + "/");
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.querySelector(".call-card");
  }

  function notice(text) {
    var node = document.getElementById("card-notice");
    if (!node) {
      node = document.createElement("p");
      node.id = "card-notice";
      node.className = "errornote";
      cardBox.insertBefore(node, cardBox.firstChild);
    }
    node.textContent = text;
    node.hidden = !text;
  }

  function fetchCard(id) {
    return fetch(cardUrl(id), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          notice(
            response.status === 403
              ? strings.card_forbidden
              : format(strings.card_failed, { status: response.status })
          );
          return { gone: response.status === 403 || response.status === 404, card: null };
        }
        return response.text().then(function (html) {
          var card = parse(html);
          if (!card) {
            // A login page instead of the card: the session has ended.
            notice(format(strings.card_failed, { status: response.status }));
          }
          return { gone: false, card: card };
        });
      })
      .catch(function () {
        notice(format(strings.card_failed, { status: "—" }));
        return { gone: false, card: null };
      });
  }

  function refreshRecentCalls() {
    // The page itself renders the list (one query for 20 calls): take its section from there.
    fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("recent-calls");
        var current = document.getElementById("recent-calls");
        if (fresh && current) {
          current.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () {});
  }

  function setStatus(card, status) {
    if (!(status in RANK) || RANK[status] < RANK[card.dataset.status]) {
      return;
    }
    if (status === "ended" && card.dataset.status !== "ended") {
      refreshRecentCalls();
    }
    card.dataset.status = status;
    card.classList.remove("status-ringing", "status-on_call", "status-ended");
    card.classList.add("status-" + status);
    var badge = card.querySelector('[data-role="status"]');
    if (badge) {
      badge.textContent = strings.statuses[status];
    }
    var hint = card.querySelector('[data-role="during-call"]');
    if (hint) {
      hint.hidden = status === "ended";
    }
  }

  function toggleTicketFields(form) {
    var checked = form.querySelector('input[name="ticket_action"]:checked');
    var action = checked ? checked.value : "";
    var rows = {
      ".field-subject": action === form.dataset.create,
      ".field-customer": action === form.dataset.create,
      ".field-ticket": action === form.dataset.update,
    };
    Object.keys(rows).forEach(function (selector) {
      var row = form.querySelector(selector);
      // A row that shows an error stays visible whatever the choice.
      if (row && !row.classList.contains("errors")) {
        row.hidden = !rows[selector];
      }
    });
  }

  function enhance(card) {
    var refresh = card.querySelector('[data-role="refresh"]');
    if (refresh) {
      refresh.hidden = false;
    }
    card.querySelectorAll('[data-role="wrap-up-form"]').forEach(toggleTicketFields);
  }

  function carryOver(from, to) {
    // What the agent typed survives a refresh of the card (a new customer, a new ticket).
    ["notes", "subject"].forEach(function (name) {
      var a = from.querySelector('[name="' + name + '"]');
      var b = to.querySelector('[name="' + name + '"]');
      if (a && b && a.value) {
        b.value = a.value;
      }
    });
  }

  function replaceCard(old, fresh, keepInput) {
    var status = old.dataset.status;
    if (keepInput) {
      carryOver(old, fresh);
      fresh.dataset.dirty = old.dataset.dirty || "";
    }
    old.replaceWith(fresh);
    setStatus(fresh, status);
    enhance(fresh);
  }

  function showCard(card) {
    var placeholder = document.getElementById("no-call");
    if (placeholder) {
      placeholder.remove();
    }
    notice("");
    // Earlier cards give way, unless the agent is still writing their wrap-up.
    cardBox.querySelectorAll(".call-card").forEach(function (old) {
      if (old.dataset.dirty !== "1") {
        old.remove();
      }
    });
    var first = cardBox.querySelector(".call-card");
    cardBox.insertBefore(card, first);
    enhance(card);
  }

  function refreshCard(card) {
    fetchCard(card.dataset.callId).then(function (result) {
      if (result.card) {
        notice("");
        replaceCard(card, result.card, true);
      } else if (result.gone) {
        card.remove();
      }
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function onRinging(notice) {
    var selector = '.ringing-notice[data-pbx-call-id="' + CSS.escape(notice.pbx_call_id) + '"]';
    if (known[notice.pbx_call_id] || cardBox.querySelector(selector)) {
      return;
    }
    // Built from text nodes only: the caller's number is whatever the PBX sent.
    var card = element("article", "call-card ringing-notice status-ringing");
    card.dataset.pbxCallId = notice.pbx_call_id;
    card.dataset.status = "ringing";
    var head = element("header", "call-card-head");
    head.appendChild(element("span", "badge call-status", strings.statuses.ringing));
    head.appendChild(element("strong", "caller", notice.caller || notice.caller_e164 || "—"));
    if (notice.caller_e164) {
      head.appendChild(element("code", "e164", notice.caller_e164));
    }
    card.appendChild(head);
    var customers = element("section", "card-customers");
    customers.appendChild(element("h2", "", strings.customer));
    if (notice.customers.length) {
      var list = element("ul", "card-list");
      notice.customers.forEach(function (customer) {
        var link = element("a", "", customer.name);
        link.href = customer.url;
        link.target = "_blank";
        link.rel = "noopener";
        var item = element("li");
        item.appendChild(link);
        list.appendChild(item);
      });
      customers.appendChild(list);
    } else {
      customers.appendChild(element("p", "unknown-caller", strings.unknown_caller));
    }
    card.appendChild(customers);
    card.appendChild(element("p", "quiet", strings.card_loading));
    showCard(card);
    window.setTimeout(function () {
      card.remove();
    }, NOTICE_SECONDS * 1000);
  }

  function onCall(call) {
    known[call.pbx_call_id] = true;
    var status = callStatus(call);
    var card = findCard(call.id);
    if (card) {
      setStatus(card, status);
      return;
    }
    if (call.id in pending) {
      if (RANK[status] > RANK[pending[call.id]]) {
        pending[call.id] = status;
      }
      return;
    }
    pending[call.id] = status;
    fetchCard(call.id).then(function (result) {
      var latest = pending[call.id];
      delete pending[call.id];
      if (result.card && !findCard(call.id)) {
        showCard(result.card);
        setStatus(result.card, latest);
      }
    });
  }

  cardBox.addEventListener("input", function (event) {
    var card = event.target.closest(".call-card");
    if (card) {
      card.dataset.dirty = "1";
    }
  });

  cardBox.addEventListener("change", function (event) {
    if (event.target.name === "ticket_action") {
      toggleTicketFields(event.target.form);
    }
  });

  cardBox.addEventListener("click", function (event) {
    var button = event.target.closest('[data-role="refresh"]');
    if (button) {
      refreshCard(button.closest(".call-card"));
    }
  });

  cardBox.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.role !== "wrap-up-form") {
      return;
    }
    event.preventDefault();
    var card = form.closest(".call-card");
    var buttons = form.querySelectorAll("[type=submit]");
    buttons.forEach(function (button) {
      button.disabled = true;
    });
    post(form.action, formData(form, event.submitter))
      .then(function (result) {
        var fresh = result.body.card ? parse(result.body.card) : null;
        if (!fresh) {
          notice(result.status === 403 ? strings.card_forbidden : strings.save_failed);
          buttons.forEach(function (button) {
            button.disabled = false;
          });
          return;
        }
        notice("");
        // Saved: a clean card with the message; refused: the form as typed, with its errors.
        replaceCard(card, fresh, false);
        fresh.dataset.dirty = result.ok ? "" : "1";
        if (result.ok) {
          refreshRecentCalls();
        }
      })
      .catch(function () {
        notice(strings.save_failed);
        buttons.forEach(function (button) {
          button.disabled = false;
        });
      });
  });

  // --- start ------------------------------------------------------------------------------------

  JSON.parse(document.getElementById("workspace-states").textContent).forEach(function (payload) {
    states[payload.agent_id] = payload;
  });
  renderLatest();
  cardBox.querySelectorAll(".call-card").forEach(enhance);
  window.setInterval(tick, 1000);
  tick();
  showBanner("connecting", strings.connecting);
  connect();
})();
