// The live wallboard: listens to ws/wallboard/, which sends a whole snapshot on connect and
// after each burst of changes; rebuilds the queue rows and agent counts from it, ticks the
// longest waits every second, and reconnects by itself (1 s, doubling to 15 s).
(function () {
  "use strict";
  var configNode = document.getElementById("wallboard-config");
  var body = document.querySelector("#wallboard-queues tbody");
  var agents = document.getElementById("wallboard-agents");
  var statusNode = document.getElementById("wallboard-status");
  if (!configNode || !body || !agents || !statusNode) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var FINAL_CODES = [4401, 4403, 4404];
  var delay = 1000;

  function setStatus(state) {
    statusNode.dataset.state = state;
    statusNode.textContent = config.status[state] || "";
  }

  function instant(iso) {
    return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
  }

  function hms(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor((s % 3600) / 60);
    var r = s % 60;
    return Math.floor(s / 3600) + ":" + (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  function cell(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    node.textContent = text;
    return node;
  }

  function render(snapshot) {
    body.textContent = "";
    snapshot.queues.forEach(function (q) {
      var tr = document.createElement("tr");
      tr.dataset.queue = q.id;
      if (q.waiting) {
        tr.className = "has-waiting";
      }
      var name = cell("th", "", q.name + " ");
      name.scope = "row";
      name.appendChild(cell("span", "company", q.company));
      tr.appendChild(name);
      tr.appendChild(cell("td", "num waiting", String(q.waiting)));
      var longest = cell("td", "num longest", "");
      var time = cell("time", "elapsed", "\u2014");
      if (q.longest_wait_since) {
        time.setAttribute("datetime", q.longest_wait_since);
        time.textContent = hms((Date.now() - instant(q.longest_wait_since)) / 1000);
      }
      longest.appendChild(time);
      tr.appendChild(longest);
      tr.appendChild(cell("td", "num offered", String(q.offered)));
      tr.appendChild(cell("td", "num answered", String(q.answered)));
      tr.appendChild(cell("td", "num abandoned", String(q.abandoned)));
      var level = q.service_level === null ? "\u2014" : (q.service_level * 100).toFixed(1) + " %";
      tr.appendChild(cell("td", "num service-level", level));
      var team = cell("td", "agents", "");
      config.queueStates.forEach(function (state) {
        var badge = cell("span", "agent-count count-" + state, config.states[state] + " ");
        badge.dataset.state = state;
        badge.title = config.states[state];
        badge.appendChild(cell("strong", "", String((q.agents || {})[state] || 0)));
        team.appendChild(badge);
        team.appendChild(document.createTextNode(" "));
      });
      tr.appendChild(team);
      body.appendChild(tr);
    });
    snapshot.companies.forEach(function (c) {
      var section = agents.querySelector('section[data-company="' + c.id + '"]');
      if (!section) {
        return;
      }
      Object.keys(config.states).forEach(function (state) {
        var count = section.querySelector('li[data-state="' + state + '"] .count');
        if (count) {
          count.textContent = String(c.agents[state] || 0);
        }
      });
    });
  }

  function tick() {
    var now = Date.now();
    body.querySelectorAll("time.elapsed[datetime]").forEach(function (node) {
      node.textContent = hms((now - instant(node.getAttribute("datetime"))) / 1000);
    });
  }

  function connect() {
    setStatus("connecting");
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + config.socket);
    socket.onopen = function () {
      delay = 1000;
      setStatus("live");
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "wallboard") {
        render(data);
      }
    };
    socket.onclose = function (event) {
      if (FINAL_CODES.indexOf(event.code) !== -1) {
        return;
      }
      setStatus("reconnecting");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
  }

  window.setInterval(tick, 1000);
  connect();
})();
